// An hid_t of any kind (file, group, dataset, type, space, property list), released when it
// leaves scope.
#pragma once

#include <hdf5.h>

namespace citadel::detail {

class Handle {
 public:
  explicit Handle(hid_t id = -1) : id_(id) {}
  ~Handle() {
    if (id_ >= 0) H5Idec_ref(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
};

}  // namespace citadel::detail
