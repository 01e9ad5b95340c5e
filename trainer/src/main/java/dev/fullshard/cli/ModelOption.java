package dev.fullshard.cli;

import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** A {@code --model} directory ({@code eval}, {@code generate}), checked before anything inside it is looked for. */
final class ModelOption {
    @Option(names = "--model", required = true, description = "Hugging Face model directory (config.json, safetensors, tokenizer.json).")
    Path model;

    /** The checked {@code --model} directory. */
    Path directory() {
        return directory(model);
    }

    /**
     * {@code model} when it is a directory. Otherwise the error says so: looking inside first would
     * report a missing tokenizer.json, which sends the user after the wrong file.
     */
    static Path directory(Path model) {
        if (Files.isDirectory(model)) return model;
        throw new IllegalArgumentException("--model " + model + ": " + (Files.exists(model) ? "is a file" : "the directory does not exist")
                + "; expected a Hugging Face model directory (config.json, *.safetensors, tokenizer.json)");
    }
}
