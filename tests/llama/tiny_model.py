"""A tiny llama-architecture model with random weights, written with the ``gguf`` package.

Its answers are noise; it exists so that the real llama.cpp server can be started in the test suite
in well under a second and answer in milliseconds. The vocabulary (the tokenizer) is llama.cpp's own
``ggml-vocab-llama-spm.gguf``, a vocab-only file from llama.cpp's sources; the weights are float32,
because quantized matmuls crash some CPU builds of llama.cpp.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import gguf
import numpy as np

# The shape of the model; a change here changes the cached file's name, so it is rebuilt.
SHAPE = {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_ff": 128, "n_ctx": 2048}
WEIGHT_SEED = 12


def tiny_model(vocab: Path, folder: Path) -> Path:
    """The tiny model over ``vocab``, built once into ``folder`` (atomically, so parallel runs are safe)."""
    tag = hashlib.sha256(vocab.read_bytes() + repr((SHAPE, WEIGHT_SEED)).encode()).hexdigest()[:12]
    path = folder / f"tiny-random-llama-{tag}.gguf"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{path.name}.{os.getpid()}"
    _write(vocab, partial)
    partial.replace(path)
    return path


def _write(vocab: Path, out: Path) -> None:
    reader = gguf.GGUFReader(vocab)
    n_vocab = len(reader.fields["tokenizer.ggml.tokens"].contents())
    e, ff = SHAPE["n_embd"], SHAPE["n_ff"]
    writer = gguf.GGUFWriter(out, "llama")
    writer.add_name("ecoptigen tiny random llama")
    writer.add_context_length(SHAPE["n_ctx"])
    writer.add_embedding_length(e)
    writer.add_block_count(SHAPE["n_layer"])
    writer.add_feed_forward_length(ff)
    writer.add_head_count(SHAPE["n_head"])
    writer.add_head_count_kv(SHAPE["n_head"])
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(e // SHAPE["n_head"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    for name, field in reader.fields.items():
        if name.startswith("tokenizer."):
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(name, field.contents(), kind, sub_type=sub)
    rng = np.random.default_rng(WEIGHT_SEED)

    def weights(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # numpy shapes are (rows, columns); gguf stores them reversed, as llama.cpp expects.
    writer.add_tensor("token_embd.weight", weights(n_vocab, e, scale=1.0))
    for block in range(SHAPE["n_layer"]):
        prefix = f"blk.{block}."
        writer.add_tensor(prefix + "attn_norm.weight", np.ones(e, dtype=np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(prefix + name + ".weight", weights(e, e))
        writer.add_tensor(prefix + "ffn_norm.weight", np.ones(e, dtype=np.float32))
        writer.add_tensor(prefix + "ffn_gate.weight", weights(ff, e))
        writer.add_tensor(prefix + "ffn_up.weight", weights(ff, e))
        writer.add_tensor(prefix + "ffn_down.weight", weights(e, ff))
    writer.add_tensor("output_norm.weight", np.ones(e, dtype=np.float32))
    writer.add_tensor("output.weight", weights(n_vocab, e, scale=0.5))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
