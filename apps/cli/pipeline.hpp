// The steps every command shares, one header for the commands: the data source, the model
// builder, the report and the saved pipeline (each in its own file).
#pragma once

#include "data_source.hpp"
#include "model_builder.hpp"
#include "report.hpp"
#include "saved_pipeline.hpp"
