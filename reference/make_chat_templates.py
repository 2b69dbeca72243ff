"""Chat-template references: real templates rendered by transformers, and the demo model's --chat token ids.

Writes src/test/resources/reference/chat_templates.json. Each template of
src/test/resources/reference/chat_templates/ (copied from llama.cpp's models/templates/, see SOURCE.md
there) is rendered with transformers' own chat-template code (render_jinja_template, the function
apply_chat_template calls) for several conversations, with and without the generation prompt. The
clock strftime_now reads is fixed (FIXED_NOW) so that the strings do not depend on the day.

For the demo model (gemma-3-270m, a base model without a template of its own) the Gemma 2 template
(the same turn markers) is applied with tokenize=True on the demo model's tokenizer in transformers
form (built from the GGUF vocabulary as gemma_gguf_to_hf.py builds it): the token ids that
`linlens --chat --chat-template google-gemma-2-2b-it.jinja` must give.

Run: /opt/linlens-ref/bin/python reference/make_chat_templates.py (or any venv with
transformers, jinja2, tokenizers, sentencepiece, protobuf, gguf).
"""
import datetime as real_datetime
import importlib.metadata as md
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MODEL_PATH, REPO_ROOT, check_model, versions, write_json  # noqa: E402

TEMPLATES = REPO_ROOT / "src" / "test" / "resources" / "reference" / "chat_templates"
OUT = REPO_ROOT / "src" / "test" / "resources" / "reference" / "chat_templates.json"
FIXED_NOW = real_datetime.datetime(2026, 3, 7, 14, 5, 9)

# each family's special tokens as its tokenizer_config.json names them
SPECIAL = {
    "google-gemma-2-2b-it": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "meta-llama-Llama-3.1-8B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "meta-llama-Llama-3.2-3B-Instruct": {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"},
    "Qwen-Qwen2.5-7B-Instruct": {"eos_token": "<|im_end|>"},
    "Qwen-Qwen3-0.6B": {"eos_token": "<|im_end|>"},
    "mistralai-Mistral-Nemo-Instruct-2407": {"bos_token": "<s>", "eos_token": "</s>"},
    "microsoft-Phi-3.5-mini-instruct": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "HuggingFaceTB-SmolLM3-3B": {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"},
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": {"bos_token": "<｜begin▁of▁sentence｜>", "eos_token": "<｜end▁of▁sentence｜>"},
    "ibm-granite-granite-3.3-2B-Instruct": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>"},
}

CONVERSATIONS = [
    {"user": "Hi"},
    {"user": "The bridge out of Marin is the"},
    {"system": "You are a helpful assistant.", "user": "What is the capital of France?"},
    {"user": "Quotes \"double\" and 'single', a backslash \\ and {{ braces }} {% raw %}"},
    {"user": "Line one\nLine two\n\n  indented line\ttab  "},
    {"system": "Réponds en français, s'il te plaît. 日本語も OK 🙂", "user": "Ünïcödé: naïve café, emoji 🌉, CJK 橋"},
    {"system": "  padded system  \n", "user": "  padded user  \n"},
]


def messages(conv):
    out = []
    if "system" in conv:
        out.append({"role": "system", "content": conv["system"]})
    out.append({"role": "user", "content": conv["user"]})
    return out


def fixed_clock():
    """transformers' strftime_now reads datetime.now(): fix it."""
    import transformers.utils.chat_template_utils as ctu

    class Fixed(real_datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return FIXED_NOW

    ctu.datetime = Fixed
    ctu._compile_jinja_template.cache_clear()


def render(template, conv, add_generation_prompt, special):
    from transformers.utils.chat_template_utils import render_jinja_template
    try:
        rendered, _ = render_jinja_template(conversations=[messages(conv)], chat_template=template,
                                            add_generation_prompt=add_generation_prompt, **special)
        return {"text": rendered[0]}
    except Exception as e:  # a template that refuses the conversation (e.g. Gemma 2 and a system turn)
        return {"error": type(e).__name__ + ": " + str(e)}


def demo_model_ids(template):
    """apply_chat_template(tokenize=True) with the demo model's tokenizer."""
    import gguf
    from transformers import AutoTokenizer
    from gemma_gguf_to_hf import write_tokenizer
    check_model()
    r = gguf.GGUFReader(str(MODEL_PATH))
    cases = []
    with tempfile.TemporaryDirectory() as d:
        write_tokenizer(r, Path(d))
        tok = AutoTokenizer.from_pretrained(d)
        for conv in CONVERSATIONS:
            if "system" in conv:
                continue
            msgs = messages(conv)
            ids = tok.apply_chat_template(msgs, chat_template=template, add_generation_prompt=True, tokenize=True,
                                          return_dict=False)
            text = tok.apply_chat_template(msgs, chat_template=template, add_generation_prompt=True, tokenize=False)
            cases.append({"user": conv["user"], "text": text, "ids": [int(i) for i in ids]})
    return cases


def main():
    fixed_clock()
    out = {
        "about": "chat templates rendered by transformers (render_jinja_template, as apply_chat_template); "
                 "templates from llama.cpp models/templates vendored in llama-cpp-python 0.3.36's sdist",
        "versions": {**versions(), "jinja2": md.version("jinja2"), "tokenizers": md.version("tokenizers")},
        "fixed_now": FIXED_NOW.isoformat(),
        "conversations": CONVERSATIONS,
        "templates": [],
    }
    for name, special in SPECIAL.items():
        template = (TEMPLATES / (name + ".jinja")).read_text(encoding="utf-8")
        renders = []
        for i, conv in enumerate(CONVERSATIONS):
            for gen in (True, False):
                renders.append({"conversation": i, "add_generation_prompt": gen, **render(template, conv, gen, special)})
        out["templates"].append({"name": name, "file": name + ".jinja", "special_tokens": special, "renders": renders})
    gemma = (TEMPLATES / "google-gemma-2-2b-it.jinja").read_text(encoding="utf-8")
    out["demo_model"] = {"model": MODEL_PATH.name, "template": "google-gemma-2-2b-it.jinja",
                         "cases": demo_model_ids(gemma)}
    write_json(OUT, out)
    print("wrote", OUT, sum(len(t["renders"]) for t in out["templates"]), "renders")


if __name__ == "__main__":
    main()
