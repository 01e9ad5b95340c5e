package dev.fullshard.cli;

import dev.fullshard.data.ChatTemplate;
import dev.fullshard.data.TextEncoder;
import dev.fullshard.data.DataFormat;
import dev.fullshard.data.DataOptions;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The options that say which JSONL data a command reads and how it becomes tokens ({@code eval}, {@code answer}). */
final class DataArguments {
    @Option(names = "--data", required = true, split = ",", description = "JSONL file(s), comma-separated.")
    List<Path> files;

    @Option(names = "--format", defaultValue = "instruction", description = "text, instruction or chat (default: ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--template", defaultValue = "default", description = "Instruction template: default, alpaca, zh or a custom string.")
    String template;

    @Option(names = "--chat-template", defaultValue = ChatTemplate.AUTO,
            description = "Chat template: auto (the model's own, else chatml), chatml, llama2 or a Jinja file (default: ${DEFAULT-VALUE}).")
    String chatTemplate;

    @Option(names = "--max-seq-len", defaultValue = "512", description = "Longer examples are truncated (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    DataFormat dataFormat() {
        return DataFormat.parse(format.toLowerCase(Locale.ROOT));
    }

    /** For data tokenized by {@code tokenizer}: bad lines fail, and the default token cache. */
    DataOptions options(TextEncoder tokenizer) {
        return new DataOptions(dataFormat(), template, ChatTemplate.resolve(chatTemplate, tokenizer.file()), maxSeqLen, false, null);
    }
}
