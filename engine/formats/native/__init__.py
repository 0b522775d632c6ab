"""The native model folder format: ``config.json`` (``config``) + ``weights.safetensors`` (``weights``) (+
``latents.npy`` and ``latents_files.txt`` once encoded: ``latents``), trained here and run by torch or its verified
ONNX Runtime fast path (``codec``). Its names are all here, ``engine.formats.native.load_model`` and so on (and the
schema of the JSON it reads, ``engine.formats.schema``, which the training checkpoint uses too).

Loading validates everything and refuses anything else with a message naming the file and the problem: a pickle
(never unpickled), a truncated or garbage file, missing or wrongly typed config keys (every field of config.json and
of the checkpoint's metadata is checked by type and range against the schema), JSON nested absurdly deep, weights
whose names, dtypes or shapes do not match the config, weights with NaN/Inf, absurd magnitudes or negative
batch-norm variances, a network whose outputs on a tiny probe batch are not finite, latents of the wrong width, with
NaN/Inf or beyond float32's range. Every write is atomic (temp file + rename), and nothing is written that these
checks would refuse to read back (file names with line breaks, NaN weights or latents).
"""
from ..card import TrainingFacts, new_model_id, read_config_json, training_facts  # noqa: F401
from ..schema import (CHECKPOINT_STATE, MAX_EPOCHS, SEED_MAX, TRAIN_OPTIONS, TRAINING_SECTION, Bool, Int,  # noqa: F401
                      List, Num, Obj, SchemaError, Str, check_json_tree, parse_json, validate)
from .codec import TorchAutoencoderCodec, as_codec  # noqa: F401  (registers the codec)
from .config import (CHECKPOINT, CONFIG, COUNTER_DTYPES, FORMAT_NAME, FORMAT_VERSION, LABELS,  # noqa: F401
                     LATENT_FILES, LATENT_LIMIT, LATENTS, MAX_SAFETENSORS_HEADER, MAX_WEIGHT_MAGNITUDE,
                     WEIGHT_DTYPES, WEIGHTS, ModelConfig, read_config)
from .latents import (ModelInfo, check_latent_values, load_latents, model_info, names_file_bytes,  # noqa: F401
                      read_names_file, save_latents)
from .weights import (check_model_outputs, check_state_dict, check_weight_values, load_model,  # noqa: F401
                      network_key, read_safetensors, save_model, weights_file_limit, write_safetensors)
