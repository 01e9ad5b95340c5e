package dev.fullshard.cli;

import dev.fullshard.data.ChatTemplate;
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

    @Option(names = "--chat-template", defaultValue = "chatml", description = "Chat template: chatml or llama2 (default: ${DEFAULT-VALUE}).")
    String chatTemplate;

    @Option(names = "--max-seq-len", defaultValue = "512", description = "Longer examples are truncated (default: ${DEFAULT-VALUE}).")
    int maxSeqLen;

    DataFormat dataFormat() {
        return DataFormat.parse(format.toLowerCase(Locale.ROOT));
    }

    /** Bad lines fail, and the default token cache. */
    DataOptions options() {
        return new DataOptions(dataFormat(), template, ChatTemplate.parse(chatTemplate), maxSeqLen, false, null);
    }
}
