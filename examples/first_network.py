import numpy as np
from citadel.keras.models import Sequential
from citadel.keras.layers import Dense

model = Sequential()
model.add(Dense(10, input_dim=8, activation='relu'))
model.add(Dense(10, activation='relu'))
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
x_train = np.random.random((1000, 8))
y_train = np.random.randint(2, size=(1000, 1))
model.fit(x_train, y_train, epochs=10, batch_size=32)
