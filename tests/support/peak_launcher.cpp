// peak_launcher REPORT PROGRAM [ARGS...]: runs PROGRAM as a child of this small process and
// writes "<peak RSS KiB> <user seconds> <system seconds>" of that child alone to REPORT, then
// exits with its status (128 + the signal that ended it). Linux keeps a process's peak RSS
// across exec, so a tool forked straight from a grown test process reports the test's size;
// forked from this launcher it starts from a few hundred KiB (cli_runner.hpp).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: peak_launcher REPORT PROGRAM [ARGS...]\n");
    return 2;
  }
  const pid_t child = ::fork();
  if (child < 0) {
    std::perror("peak_launcher: fork");
    return 2;
  }
  if (child == 0) {
    ::execv(argv[2], argv + 2);
    std::perror("peak_launcher: exec");
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  if (::wait4(child, &status, 0, &usage) != child) {
    std::perror("peak_launcher: wait4");
    return 2;
  }
  std::FILE* report = std::fopen(argv[1], "w");
  if (report == nullptr) {
    std::perror("peak_launcher: report");
    return 2;
  }
  std::fprintf(report, "%ld %ld.%06ld %ld.%06ld\n", usage.ru_maxrss, long(usage.ru_utime.tv_sec),
               long(usage.ru_utime.tv_usec), long(usage.ru_stime.tv_sec), long(usage.ru_stime.tv_usec));
  std::fclose(report);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
