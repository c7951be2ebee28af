// The served models, looked up under a shared lock and replaced whole.
#include "server_internals.hpp"

namespace citadel::serving {

ModelTable::ModelTable(std::vector<ServedModel> models) {
  for (ServedModel& m : models) {
    auto shared = std::make_shared<const ServedModel>(std::move(m));
    models_.emplace(shared->name, std::move(shared));
  }
}

std::shared_ptr<const ServedModel> ModelTable::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto found = models_.find(name);
  return found == models_.end() ? nullptr : found->second;
}

std::vector<std::shared_ptr<const ServedModel>> ModelTable::all() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const ServedModel>> models;
  for (const auto& [name, model] : models_) models.push_back(model);
  return models;
}

void ModelTable::replace(std::shared_ptr<const ServedModel> model) {
  std::unique_lock lock(mutex_);
  models_[model->name] = std::move(model);
}

}  // namespace citadel::serving
