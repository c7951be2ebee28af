// Two independent pieces of work at once: for layers made of two halves that do not share
// state (Bidirectional's directions), each half of which is a chain of small steps that one
// thread runs about as fast as two.
#pragma once

#include <type_traits>
#include <utility>

namespace citadel::ops {

// A reference to a callable that lives at least as long as the call it is passed to (a lambda
// written in the call). Unlike std::function it never allocates: a training step must not
// (tests/model/allocation_test.cpp), and std::function puts lambdas of more than two captured
// references on the heap.
class TaskRef {
 public:
  template <typename Task>
    requires(!std::is_same_v<std::remove_cvref_t<Task>, TaskRef>)
  TaskRef(Task&& task)  // NOLINT: converts implicitly, as std::function does
      : object_(const_cast<void*>(static_cast<const void*>(&task))),
        call_([](void* object) { (*static_cast<std::remove_reference_t<Task>*>(object))(); }) {}
  void operator()() const { call_(object_); }

 private:
  void* object_;
  void (*call_)(void*);
};

// Runs first() and second() on two threads of citadel's team when the thread setting (and
// the thread governor) allows two, each then running its own ops on one thread; else one
// after the other. Either's exception is rethrown here (the first's, if both throw).
void run_concurrently(TaskRef first, TaskRef second);

}  // namespace citadel::ops
