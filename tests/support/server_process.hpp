// `citadel serve ARGUMENTS --port 0` as a child process with its stderr in a file: started,
// its port read from the log (up to 20 s), killed (SIGKILL) when the test no longer needs it.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace citadel::testkit {

class ServerProcess {
 public:
  ServerProcess(const std::string& binary, const std::string& arguments, const std::filesystem::path& log)
      : log_(log) {
    std::filesystem::remove(log);
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string command = "exec " + binary + " serve " + arguments + " --port 0 2>" + log.string();
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 400 && port_ == 0 && running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::string text = this->log();
      const size_t at = text.find("listening on 127.0.0.1:");
      if (at != std::string::npos) port_ = static_cast<uint16_t>(std::stoi(text.substr(at + 23)));
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { kill(); }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  void kill() {
    if (running()) ::kill(pid_, SIGKILL);
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const {
    std::ifstream in(log_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // Sends `signal` (SIGTERM: the orderly stop) and waits up to 10 s for the exit: its wait
  // status, or -1 when the server did not exit (it is then killed).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill();
    return -1;
  }
  // A line of /proc/PID/status in MiB (VmRSS: now; VmHWM: the peak); -1 when absent.
  double memory_mib(const std::string& field) const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
    return -1;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace citadel::testkit
