package dev.fullshard.data;

import java.nio.file.Path;

/**
 * How JSONL files become token sequences.
 *
 * @param format              the line layout
 * @param instructionTemplate for {@link DataFormat#INSTRUCTION}: default, zh, alpaca or a custom template ({@link PromptTemplate})
 * @param chatTemplate        for {@link DataFormat#CHAT}: resolved for the tokenizer ({@link ChatTemplate#resolve})
 * @param maxSeqLen           longer examples are truncated to this many tokens (and counted)
 * @param skipBadLines        skip and count bad lines instead of failing on the first
 * @param cacheDir            token-cache root; null means {@code TorchLibrary.cacheRoot()/tokens}
 */
public record DataOptions(DataFormat format, String instructionTemplate, ChatTemplate chatTemplate, int maxSeqLen, boolean skipBadLines,
                          Path cacheDir) {
    public DataOptions {
        if (format == null) throw new IllegalArgumentException("data format is required");
        if (maxSeqLen < 2) throw new IllegalArgumentException("max_seq_len must be at least 2, got " + maxSeqLen);
        PromptTemplate.of(instructionTemplate); // fail here, not per line
        if (chatTemplate == null) throw new IllegalArgumentException("chat template is required");
    }

    /** Template {@code default}, chat template {@code chatml}, bad lines fail, the default cache. */
    public static DataOptions of(DataFormat format, int maxSeqLen) {
        return new DataOptions(format, "default", BuiltinChatTemplate.CHATML, maxSeqLen, false, null);
    }

    public DataOptions withInstructionTemplate(String t) {
        return new DataOptions(format, t, chatTemplate, maxSeqLen, skipBadLines, cacheDir);
    }

    public DataOptions withChatTemplate(ChatTemplate t) {
        return new DataOptions(format, instructionTemplate, t, maxSeqLen, skipBadLines, cacheDir);
    }

    public DataOptions withSkipBadLines(boolean skip) {
        return new DataOptions(format, instructionTemplate, chatTemplate, maxSeqLen, skip, cacheDir);
    }

    public DataOptions withCacheDir(Path dir) {
        return new DataOptions(format, instructionTemplate, chatTemplate, maxSeqLen, skipBadLines, dir);
    }
}
