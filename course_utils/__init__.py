"""Helpers shared by the course notebooks.

One small module per concept; read any of them in one sitting:

- ``config``     FAST/full mode, ``setup()`` (seeds, threads, device, versions)
- ``data``       the offline data sets (all shipped inside installed packages) and the held-out split
- ``artifacts``  the cache of trained models, keyed by a hash of their config
- ``plots``      one plotting style and a live loss plot
- ``train``      a small training loop (progress bar, periodic evaluation, history), and the settings,
                 optimizer and learning-rate schedule every transformer run shares (chapters 06-10)
- ``widgets``    interactive controls that fall back to a static picture
- ``exercises``  ``check(...)`` for the exercise cells
- ``glossary``   the English / Chinese term table
- ``results``    the "key results" table each notebook ends with
- ``colab``      the repository's address, and the Colab badges and install lines made from it
- ``monitor``    hooks that watch activations, gradients and update sizes while training
- ``charlm``     character-level language-model data from the word list (chapters 01, 03)
- ``word2vec``   word2vec trainers (skip-gram, CBOW, negative sampling, hierarchical softmax) and evaluation
- ``bpe``        the byte-level BPE tokenizer and ``get_tokenizer()`` (chapters 05-09)
- ``gpt``        the GPT model, sampling, KV cache, size and memory arithmetic (chapters 06-09)
- ``pretrain``   pretraining on the Wikipedia text and ``get_pretrained()`` (chapters 06-09)
- ``sft``        instruction data, the chat template, loss masks and ``get_sft_model()`` (chapters 07-09)
- ``rlhf``       simulated raters, the reward model, PPO and DPO (chapter 08)
- ``lora``       LoRA layers, injection, merging, adapters and int8 weights (chapters 09-10)
- ``llama``      the 2024 decoder: RMSNorm, RoPE, SwiGLU, grouped-query attention (chapter 10)
- ``smollm``     SmolLM2's GGUF file: dequantisation, weights, tokenizer, chat template (chapter 10)
- ``calculator`` arithmetic problems and a safe calculator tool (chapter 10)
- ``grpo``       GRPO: group-relative advantages and the clipped objective with a KL term (chapter 10)
"""
from .config import DEVICE_ORDER, is_fast, pick, run_seed, setup

__all__ = ["setup", "is_fast", "pick", "run_seed", "DEVICE_ORDER"]
__version__ = "0.1.0"
