"""Layers with Keras's names, arguments and defaults. A layer here is its Keras config; the
model hands the configs to citadel, which builds, checks and computes the layers, so an
unsupported setting is an error naming the layer and the key, never silently ignored.
Calling a layer on symbolic tensors (keras.Input) records the call (_symbolic.py), from
which keras.Model makes a Functional config."""
from citadel.keras import _symbolic, activations, initializers, regularizers

_SERIALIZERS = {
    "activation": activations.serialize,
    "recurrent_activation": activations.serialize,
    "kernel_initializer": initializers.serialize,
    "recurrent_initializer": initializers.serialize,
    "bias_initializer": initializers.serialize,
    "beta_initializer": initializers.serialize,
    "gamma_initializer": initializers.serialize,
    "moving_mean_initializer": initializers.serialize,
    "moving_variance_initializer": initializers.serialize,
    "kernel_regularizer": regularizers.serialize,
    "recurrent_regularizer": regularizers.serialize,
    "bias_regularizer": regularizers.serialize,
    "beta_regularizer": regularizers.serialize,
    "gamma_regularizer": regularizers.serialize,
    "embeddings_initializer": initializers.serialize,
    "embeddings_regularizer": regularizers.serialize,
}


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):  # numpy scalars
        return value.item()
    return value


class Layer:
    """A layer: its class name and Keras config, and the calls made of it on symbolic
    tensors (_inbound_nodes). Its weights live in the model that owns it (_model)."""

    def __init__(self, name=None, input_shape=None, input_dim=None, batch_input_shape=None, batch_size=None,
                 dtype=None, trainable=True, **settings):
        if dtype not in (None, "float32"):
            raise ValueError(f"{type(self).__name__}: citadel computes in float32, dtype={dtype!r} is not supported")
        own = _parameters(type(self))
        unknown = sorted(key for key in settings if key not in own)
        if unknown:
            # ValueError, as Keras 3 raises for unrecognized layer arguments.
            raise ValueError(f"{type(self).__name__}: unrecognized keyword arguments {unknown}")
        config = {}
        for key, value in settings.items():
            if value is None:
                continue
            config[key] = _plain(_SERIALIZERS.get(key, lambda v: v)(value))
        if input_dim is not None:
            config["input_dim"] = int(input_dim)
        if input_shape is not None:
            config["input_shape"] = [None if d is None else int(d) for d in _as_shape(input_shape)]
        if batch_input_shape is not None:
            config["batch_input_shape"] = [None if d is None else int(d) for d in batch_input_shape]
        if name is not None:
            config["name"] = str(name)
        self._config = config
        self.name = name
        self._model = None  # the model whose weights it is, once a model owns it
        self._inbound_nodes = []  # its calls on symbolic tensors, in call order
        if not trainable:
            self.trainable = False

    def get_config(self):
        return dict(self._config)

    def _serialize(self):
        return {"class_name": type(self).__name__, "config": self.get_config()}

    def get_weights(self):
        return self._owner()._layer_weights(self)

    def set_weights(self, weights):
        self._owner()._set_layer_weights(self, weights)

    @property
    def weights(self):
        return self.get_weights()

    # Keras's trainable: a frozen layer's weights are not trained (no optimizer step, weight
    # penalty or DP-SGD share) and count as non-trainable; a frozen BatchNormalization runs in
    # inference mode. As in Keras, a change takes effect in training at the next compile().
    @property
    def trainable(self):
        return self._config.get("trainable", True) is not False

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        if value:
            self._config.pop("trainable", None)
        else:
            self._config["trainable"] = False
        if self._model is not None:
            self._model._layer_trainable_changed(self, value)

    @property
    def trainable_weights(self):
        return [w for w, variable in self._owner()._layer_weight_kinds(self) if variable and self.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w, variable in self._owner()._layer_weight_kinds(self) if not (variable and self.trainable)]

    def count_params(self):
        return self._owner()._layer_params(self)

    def _owner(self):
        if self._model is None:
            raise ValueError(f"layer '{self.name or type(self).__name__}' is not part of a model yet")
        return self._model

    def __repr__(self):
        return f"<citadel.keras.layers.{type(self).__name__} name={self.name!r}>"

    def __call__(self, inputs, *args, **kwargs):
        """On symbolic tensors (keras.Input and layer outputs), as Keras's functional API: the
        output tensor of this call. Calling one layer twice shares its weights."""
        if args:
            raise TypeError(f"{type(self).__name__}: call it on one tensor or one list of tensors, got "
                            f"{1 + len(args)} positional arguments")
        if not _symbolic.is_symbolic(inputs):
            from citadel.keras._unsupported import eager_call
            raise eager_call(type(self).__name__)
        return _symbolic.call_layer(self, inputs, dict(kwargs))

    # Keras's attributes of a layer's calls: its first call's, as Keras 3 gives them.
    def _first_node(self, attribute):
        if not self._inbound_nodes:
            raise AttributeError(f"layer '{self.name or type(self).__name__}' has never been called on a tensor and "
                                 f"thus has no defined {attribute}")
        return self._inbound_nodes[0]

    @property
    def output(self):
        return self._first_node("output").output

    @property
    def input(self):
        node = self._first_node("input")
        return node.inputs if node.listed else node.inputs[0]


def _parameters(cls):
    """The keyword arguments a layer class takes (its settings), through its __init__ chain."""
    import inspect
    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass is not Layer and klass is not object:
            names.update(inspect.signature(vars(klass)["__init__"]).parameters)
    return names


def _as_shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(shape)


# An Input's dtypes: float32, or int32/int64 for token ids (Embedding's input; citadel
# carries them in float32, integers up to 2^24: docs/DESIGN.md).
_INPUT_DTYPES = ("float32", "int32", "int64")


def _input_dtype(dtype, who):
    name = getattr(dtype, "name", dtype)  # numpy dtypes and types give their name
    if isinstance(dtype, type):
        import numpy as np
        name = np.dtype(dtype).name
    name = "float32" if name is None else str(name)
    if name not in _INPUT_DTYPES:
        raise ValueError(f"{who}: dtype={dtype!r} is not supported; an input is float32, or int32/int64 for "
                         f"token ids (Embedding)")
    return name


class InputLayer(Layer):
    def __init__(self, shape=None, batch_size=None, name=None, input_shape=None, batch_shape=None, dtype=None,
                 **kwargs):
        shape = shape if shape is not None else input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: give shape= (without the batch axis)")
            batch_shape = [None] + list(_as_shape(shape))
        if any(d is None for d in list(batch_shape)[1:]):
            raise ValueError(f"InputLayer: citadel needs every axis but the batch one, got shape {tuple(batch_shape)}")
        dtype = _input_dtype(dtype, "InputLayer")
        super().__init__(name=name, **kwargs)
        self._config["batch_shape"] = [None if d is None else int(d) for d in batch_shape]
        if dtype != "float32":
            self._config["dtype"] = dtype
        self.shape = tuple(batch_shape)
        # Its output: the symbolic tensor keras.Input returns.
        node = _symbolic.Node(self, [], False, (None, *[int(d) for d in list(batch_shape)[1:]]))
        node.output.dtype = dtype
        if name:
            node.output.name = str(name)


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, sparse=None, ragged=None,
          tensor=None, optional=False):
    """As keras.Input: a symbolic tensor to call layers on (keras.Model(inputs, outputs)), or
    the first entry of a Sequential."""
    dtype = _input_dtype(dtype, "Input")
    if sparse or ragged or tensor is not None or optional:
        raise NotImplementedError("Input: sparse, ragged, optional inputs and tensor= are not supported by citadel")
    return InputLayer(shape=shape, batch_size=batch_size, name=name, batch_shape=batch_shape, dtype=dtype).output


class Dense(Layer):
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _unsupported(self, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                     bias_constraint=bias_constraint)
        super().__init__(units=int(units), activation=activation, use_bias=bool(use_bias),
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, **kwargs)
        self.units = int(units)


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)


class Dropout(Layer):
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        _unsupported(self, noise_shape=noise_shape)
        # The mask's stream comes from the model's seed (citadel.set_seed), not one per layer.
        super().__init__(rate=float(rate), **kwargs)
        self.rate = float(rate)


class SpatialDropout1D(Layer):
    """Dropout of whole channels of a (batch, steps, channels) input (Keras 3): in training each
    example's channel is zeroed at every step with probability rate, the kept ones scaled by
    1/(1 - rate); the identity in evaluate and predict. A mask passes through."""

    def __init__(self, rate, seed=None, **kwargs):
        # The mask's stream comes from the model's seed (citadel.set_seed), as Dropout's.
        super().__init__(rate=float(rate), **kwargs)
        self.rate = float(rate)


class Flatten(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(target_shape=[int(d) for d in target_shape], **kwargs)


class Conv2D(Layer):
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _unsupported(self, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                     bias_constraint=bias_constraint)
        super().__init__(filters=int(filters), kernel_size=_pair(kernel_size), strides=_pair(strides),
                         padding=padding, data_format=data_format, dilation_rate=_pair(dilation_rate),
                         groups=int(groups), activation=activation, use_bias=bool(use_bias),
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, **kwargs)


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size=_pair(pool_size), strides=None if strides is None else _pair(strides),
                         padding=padding, data_format=data_format, **kwargs)


class MaxPooling2D(_Pooling2D):
    pass


class AveragePooling2D(_Pooling2D):
    pass


class _GlobalPooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=None if keepdims is False else keepdims, **kwargs)


class GlobalAveragePooling2D(_GlobalPooling2D):
    pass


class GlobalMaxPooling2D(_GlobalPooling2D):
    pass


class BatchNormalization(Layer):
    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        _unsupported(self, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        super().__init__(axis=int(axis), momentum=float(momentum), epsilon=float(epsilon), center=bool(center),
                         scale=bool(scale), beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                         moving_mean_initializer=moving_mean_initializer,
                         moving_variance_initializer=moving_variance_initializer,
                         beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer, **kwargs)


class Masking(Layer):
    """Masks the time steps whose features all equal mask_value (Keras 3): they become zeros,
    and the layers after it that support masks skip them (GlobalAveragePooling1D)."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(mask_value=float(mask_value), **kwargs)


class Conv1D(Layer):
    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        _unsupported(self, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                     bias_constraint=bias_constraint)
        super().__init__(filters=int(filters), kernel_size=_single(kernel_size), strides=_single(strides),
                         padding=padding, data_format=data_format, dilation_rate=_single(dilation_rate),
                         groups=int(groups), activation=activation, use_bias=bool(use_bias),
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, **kwargs)


class _Pooling1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size=_single(pool_size), strides=None if strides is None else _single(strides),
                         padding=padding, data_format=data_format, **kwargs)


class MaxPooling1D(_Pooling1D):
    pass


class AveragePooling1D(_Pooling1D):
    pass


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format=data_format, keepdims=None if keepdims is False else keepdims, **kwargs)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The average over the time steps, over the unmasked ones only after a Masking layer."""


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over every time step (Keras 3's ignores masks, and so does this one)."""


class Embedding(Layer):
    """Token ids (integers in [0, input_dim)) → rows of a learned (input_dim, output_dim)
    table, as Keras 3's; mask_zero makes id 0 padding (a mask the layers after it read).
    Out-of-range ids are an error naming the layer and the id, never a read past the table.
    input_length (Keras 2) is accepted and ignored, as Keras 3 does."""

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, input_length=None,
                 activity_regularizer=None, sparse=False, **kwargs):
        _unsupported(self, embeddings_constraint=embeddings_constraint, weights=weights, lora_rank=lora_rank,
                     activity_regularizer=activity_regularizer)
        if sparse:
            raise ValueError("Embedding: sparse=True is not supported by citadel (its gradient is already a "
                             "scatter into the rows hit)")
        super().__init__(input_dim=int(input_dim), output_dim=int(output_dim),
                         embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, mask_zero=bool(mask_zero), **kwargs)
        self.input_dim, self.output_dim, self.mask_zero = int(input_dim), int(output_dim), bool(mask_zero)


class LayerNormalization(Layer):
    def __init__(self, axis=-1, epsilon=0.001, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        _unsupported(self, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        if kwargs.get("rms_scaling"):
            raise ValueError("LayerNormalization: rms_scaling is not supported by citadel")
        kwargs.pop("rms_scaling", None)
        super().__init__(axis=int(axis) if isinstance(axis, int) else [int(a) for a in axis],
                         epsilon=float(epsilon), center=bool(center), scale=bool(scale),
                         beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                         beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer, **kwargs)


class _RNN(Layer):
    """Keras 3's recurrent layers (keras.layers.SimpleRNN, LSTM, GRU): weights kernel
    (features, gates·units), recurrent_kernel (units, gates·units) and bias; a masked step
    carries the state; dropout and recurrent_dropout use one mask per sequence for every step,
    as Keras does. return_state=True: a call gives [output, h] (LSTM [output, h, c]), the
    states after the last unmasked step; initial_state=[h, c] in a call starts from given
    states (an encoder's, for a decoder). citadel refuses what it does not implement
    (stateful, constraints) naming the layer and the argument."""

    _trailing_argument = "initial_state"  # a call's inputs after the sequence

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        _unsupported(self, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                     recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        name = type(self).__name__
        if stateful:
            raise ValueError(f"{name}: stateful=True is not supported by citadel yet")
        super().__init__(units=int(units), activation=activation, use_bias=bool(use_bias),
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         dropout=float(dropout), recurrent_dropout=float(recurrent_dropout),
                         return_sequences=bool(return_sequences), return_state=bool(return_state),
                         go_backwards=bool(go_backwards), stateful=bool(stateful), unroll=bool(unroll),
                         zero_output_for_mask=bool(zero_output_for_mask), **kwargs)


    def _output_count(self):
        """1, or with return_state the output and each state (LSTM has h and c)."""
        if not self._config.get("return_state"):
            return 1
        return 3 if isinstance(self, LSTM) else 2


class SimpleRNN(_RNN):
    pass


class LSTM(_RNN):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         unit_forget_bias=bool(unit_forget_bias), **kwargs)


class GRU(_RNN):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         reset_after=bool(reset_after), **kwargs)


class Bidirectional(Layer):
    """keras.layers.Bidirectional around a SimpleRNN, LSTM or GRU: a forward copy and a
    go_backwards copy (named forward_<name> and backward_<name>, or the given backward_layer),
    their outputs merged by merge_mode "concat", "sum", "mul" or "ave"; with return_sequences
    the backward outputs are put back in time order and masked steps output zeros, as Keras
    does. Weights: the forward copy's kernel, recurrent_kernel and bias, then the backward
    copy's. merge_mode=None (two outputs) is refused."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _RNN):
            raise ValueError(f"Bidirectional: layer must be a SimpleRNN, LSTM or GRU layer, got "
                             f"{type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, _RNN):
            raise ValueError(f"Bidirectional: backward_layer must be a SimpleRNN, LSTM or GRU layer, got "
                             f"{type(backward_layer).__name__}")
        if merge_mode is None:
            raise NotImplementedError("Bidirectional: merge_mode=None (two outputs) is not supported by citadel; "
                                      "use 'concat', 'sum', 'mul' or 'ave'")
        if merge_mode not in ("concat", "sum", "mul", "ave"):
            raise ValueError(f"Bidirectional: merge_mode must be 'concat', 'sum', 'mul' or 'ave', got {merge_mode!r}")
        if weights is not None:
            raise ValueError("Bidirectional: weights is not supported by citadel; call set_weights() once the "
                             "model is built")
        super().__init__(merge_mode=merge_mode, layer=layer._serialize(),
                         backward_layer=None if backward_layer is None else backward_layer._serialize(), **kwargs)

    _trailing_argument = "initial_state"  # the forward layer's states, then the backward layer's

    def _output_count(self):
        """1, or with the layer's return_state the output, the forward and the backward states."""
        def states(entry):
            if not entry or not entry["config"].get("return_state"):
                return 0
            return 2 if entry["class_name"] == "LSTM" else 1
        forward = self._config["layer"]
        return 1 + states(forward) + states(self._config.get("backward_layer") or forward)


class TimeDistributed(Layer):
    """keras.layers.TimeDistributed: applies layer to every step of a (batch, steps, ...)
    input with one set of weights (the wrapped layer's, as Keras lists them); a mask passes
    through. The wrapped layer takes one input (Dense, Conv2D, ...)."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                             f"instance, got {layer!r}")
        super().__init__(layer=layer._serialize(), **kwargs)


class MultiHeadAttention(Layer):
    """keras.layers.MultiHeadAttention (Keras 3) over sequences (batch, steps, features),
    called as mha(query, value, key=None, use_causal_mask=False): per head,
    softmax(q·kᵀ/√key_dim) weighs the values. Weights, in Keras's order: query, key and value
    kernels (features, num_heads, key_dim | value_dim) and biases (num_heads, key_dim |
    value_dim), the output kernel (num_heads, value_dim, output features) and bias. Padding
    masks of the inputs (Masking, Embedding(mask_zero=True)) are read as Keras reads them.
    citadel keeps use_causal_mask with the layer (its config), so every call of one layer
    must give the same value; an explicit attention_mask, query_mask/value_mask/key_mask,
    return_attention_scores=True, attention over other axes, sliding_window, use_gate and
    constraints are refused by name."""

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None, **kwargs):
        _unsupported(self, activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                     bias_constraint=bias_constraint, sliding_window=sliding_window)
        if use_gate:
            raise ValueError("MultiHeadAttention: use_gate=True is not supported by citadel yet")
        if flash_attention:
            raise ValueError("MultiHeadAttention: flash_attention=True is not supported by citadel")
        axes = [attention_axes] if isinstance(attention_axes, int) else attention_axes
        if axes is not None and [int(a) for a in axes] not in ([1], [-2]):
            raise ValueError(f"MultiHeadAttention: attention_axes={attention_axes!r} is not supported by citadel; "
                             "it attends over the steps of (batch, steps, features) inputs (attention_axes=None)")
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise ValueError(f"MultiHeadAttention: output_shape must be one number of features, got "
                                 f"{output_shape!r}")
            output_shape = output_shape[0]
        # The dropout mask's stream comes from the model's seed (citadel.set_seed), as Dropout's.
        super().__init__(num_heads=int(num_heads), key_dim=int(key_dim),
                         value_dim=None if value_dim is None else int(value_dim), dropout=float(dropout),
                         use_bias=bool(use_bias), output_shape=None if output_shape is None else int(output_shape),
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer, **kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)

    def __call__(self, query, value=None, key=None, query_mask=None, value_mask=None, key_mask=None,
                 attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        where = f"MultiHeadAttention '{self.name}'" if self.name else "MultiHeadAttention"
        if value is None and isinstance(query, (list, tuple)) and len(query) in (2, 3):
            query, value, key = query[0], query[1], (query[2] if len(query) == 3 else key)  # citadel's own form
        if value is None:
            raise TypeError(f"{where}: call it on a query and a value: mha(query, value, key=None)")
        if attention_mask is not None:
            raise NotImplementedError(f"{where}: attention_mask= (an explicit mask) is not supported by citadel; "
                                      "the inputs' padding masks (Masking, Embedding(mask_zero=True)) and "
                                      "use_causal_mask=True are")
        for argument, given in (("query_mask", query_mask), ("value_mask", value_mask), ("key_mask", key_mask)):
            if given is not None:
                raise NotImplementedError(f"{where}: {argument}= is not supported by citadel; the inputs' own masks "
                                          "(Masking, Embedding(mask_zero=True)) are read")
        if return_attention_scores:
            raise NotImplementedError(f"{where}: return_attention_scores=True (a second output) is not supported by "
                                      "citadel")
        if not isinstance(use_causal_mask, bool):
            raise ValueError(f"{where}: use_causal_mask must be True or False, got {use_causal_mask!r}")
        causal = self._config.get("use_causal_mask", False)
        if self._inbound_nodes and causal != use_causal_mask:
            raise NotImplementedError(f"{where}: use_causal_mask={use_causal_mask} differs from the layer's earlier "
                                      f"call ({causal}); citadel keeps one value per layer")
        if use_causal_mask:
            self._config["use_causal_mask"] = True
        tensors = [query, value] + ([] if key is None else [key])
        kwargs = {} if training is None else {"training": training}
        return super().__call__(tensors, **kwargs)


def _single(value):
    if isinstance(value, int):
        return [value]
    return [int(v) for v in value]


def _pair(value):
    if isinstance(value, int):
        return [value, value]
    return [int(v) for v in value]


def _unsupported(layer, **settings):
    for key, value in settings.items():
        if value is not None:
            raise ValueError(f"{type(layer).__name__}: {key} is not supported by citadel yet")


from citadel.keras._merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,  # noqa: E402
                                    Subtract, add, average, concatenate, dot, maximum, minimum, multiply, subtract)

from citadel.keras._text_vectorization import TextVectorization  # noqa: E402,F401

# Keras's aliases.
Convolution1D = Conv1D
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
Convolution2D = Conv2D
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D


# Keras 3 names this module lacks raise an error that says so (_unsupported.py).
from citadel.keras._unsupported import module_getattr as _module_getattr  # noqa: E402

__getattr__ = _module_getattr("keras.layers")
