// The reference Keras program, line for line, written with citadel:
//
//   model = Sequential()
//   model.add(Dense(10, input_dim=8, activation='relu'))
//   model.add(Dense(10, activation='relu'))
//   model.add(Dense(1, activation='sigmoid'))
//   model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
//   model.fit(x_train, y_train, epochs=10, batch_size=32)
#include <citadel/citadel.hpp>

using namespace citadel;

int main() {
  Sequential model;
  model.add(Dense(10, {.input_dim = 8, .activation = "relu"}));
  model.add(Dense(10, {.activation = "relu"}));
  model.add(Dense(1, {.activation = "sigmoid"}));
  model.compile({.loss = "binary_crossentropy", .optimizer = "adam", .metrics = {"accuracy"}});

  Tensor x = random::uniform({1000, 8});
  Tensor y = random::randint(0, 2, {1000, 1});
  History h = model.fit(x, y, {.epochs = 10, .batch_size = 32});
}
