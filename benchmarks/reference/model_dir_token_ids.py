#!/usr/bin/env python3
"""Reference token ids for model directories written by `fullshard init-model`, from Hugging Face transformers.

Builds tiny random model directories with the project's own launcher, target/fullshard/bin/fullshard
(so the project must be built first, e.g. `mvn package`), one per case:

    llama, mistral, qwen3   --arch <arch>, with the bundled Mistral 32k SentencePiece-style tokenizer
    llama+llama3_1          --arch llama  --tokenizer <llama3_1>
    qwen2+qwen3             --arch qwen2  --tokenizer <qwen3>
    qwen3+qwen3             --arch qwen3  --tokenizer <qwen3>

(qwen2 with the bundled tokenizer is refused by init-model on purpose, so it has no case here.) The
llama3_1 and qwen3 tokenizers are the real ones in trainer/src/test/resources/dev/fullshard/tokenizers/
(tokenizer.json.gz plus tokenizer_config.json; see SOURCE.md there). Each directory is loaded the way a
user would load it, with transformers.AutoTokenizer.from_pretrained(dir), and TEXTS are encoded with
add_special_tokens=False. It writes dev/fullshard/tokenizers/expected-model-dirs.json:

    {"transformers": <version>, "texts": [...],
     "cases": [{"name", "arch", "tokenizer" (null for the bundled one), "tokenizer_class", "ids": [[...] per text]}, ...]}

tokenizer_class is the class transformers picked, which for some model types is not what
tokenizer_config.json names, and is the point of the test: the ids a user gets from the exported
directory must be the ids fullshard trained on.

Run by hand from anywhere, with transformers installed (no network needed):

    python3 benchmarks/reference/model_dir_token_ids.py
"""
import gzip
import json
import os
import shutil
import subprocess
import tempfile

import transformers
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FULLSHARD = os.path.join(ROOT, "target", "fullshard", "bin", "fullshard")
TOKENIZERS = os.path.join(ROOT, "trainer", "src", "test", "resources", "dev", "fullshard", "tokenizers")
OUT = os.path.join(TOKENIZERS, "expected-model-dirs.json")

# (case name, --arch, tokenizer fixture or None for the bundled one)
CASES = (
    ("llama", "llama", None),
    ("mistral", "mistral", None),
    ("qwen3", "qwen3", None),
    ("llama+llama3_1", "llama", "llama3_1"),
    ("qwen2+qwen3", "qwen2", "qwen3"),
    ("qwen3+qwen3", "qwen3", "qwen3"),
)

# ASCII, a question, CJK with full-width punctuation, tabs/accents/an em dash/an emoji with a skin-tone
# modifier (byte fallback in SentencePiece, multi-byte merges in byte-level BPE), and newlines (which
# byte-level pre-tokenizers split specially and SentencePiece maps to <0x0A>).
TEXTS = (
    "hello world, this is a test of the exported model",
    "What is the capital of France? Paris.",
    "法国的首都是哪里？巴黎。",
    "Tabs\tand naïve café — ok 👋🏽",
    "line one\nline two\n\nend",
)


def unpack_tokenizer(name, tmp):
    # init-model and from_pretrained want a plain tokenizer.json; the fixture keeps it gzipped to stay small.
    d = os.path.join(tmp, "tokenizers", name)
    if os.path.isdir(d):
        return d
    os.makedirs(d)
    src = os.path.join(TOKENIZERS, name)
    with gzip.open(os.path.join(src, "tokenizer.json.gz"), "rb") as f, \
            open(os.path.join(d, "tokenizer.json"), "wb") as out:
        shutil.copyfileobj(f, out)
    shutil.copy(os.path.join(src, "tokenizer_config.json"), d)
    return d


def init_model(name, arch, tokenizer, tmp):
    out = os.path.join(tmp, "models", name)
    # fp32 and the tiny preset keep the weights small and avoid needing a bf16-capable loader; only the
    # tokenizer files matter here, but they must come from the real export path, not a copy made by hand.
    cmd = [FULLSHARD, "init-model", "--arch", arch, "--preset", "tiny", "--dtype", "fp32", "--out", out]
    if tokenizer is not None:
        cmd += ["--tokenizer", unpack_tokenizer(tokenizer, tmp)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def main():
    if not os.path.exists(FULLSHARD):
        raise SystemExit(f"{os.path.relpath(FULLSHARD, ROOT)} not found: build the project first")
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "models"))
        for name, arch, tokenizer in CASES:
            tok = AutoTokenizer.from_pretrained(init_model(name, arch, tokenizer, tmp))
            ids = [[int(i) for i in tok.encode(text, add_special_tokens=False)] for text in TEXTS]
            cases.append({"name": name, "arch": arch, "tokenizer": tokenizer,
                          "tokenizer_class": type(tok).__name__, "ids": ids})
            print(f"{name}: {type(tok).__name__}")

    # One case a line, so a diff shows which case changed.
    head = {"transformers": transformers.__version__, "texts": list(TEXTS)}
    lines = [json.dumps(c, ensure_ascii=False) for c in cases]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "cases": [\n')
        f.write(",\n".join(lines) + "\n]}\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
