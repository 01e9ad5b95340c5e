package dev.fullshard.cli;

import dev.fullshard.data.Tokenizer;
import dev.fullshard.io.CheckpointWriter;
import dev.fullshard.io.WritableTensor;
import dev.fullshard.model.ModelConfig;
import dev.fullshard.model.ModelConfig.Architecture;
import dev.fullshard.model.ModelPresets;
import dev.fullshard.model.Parameters;
import dev.fullshard.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code fullshard init-model}: a randomly initialised Hugging Face model directory (config.json,
 * safetensors weights, the bundled tokenizer or a given one), written one tensor at a time and published
 * atomically.
 */
@Command(name = "init-model", mixinStandardHelpOptions = true,
        description = "Write a randomly initialised Hugging Face model directory (config.json, model.safetensors, tokenizer).")
public final class InitModelCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--arch", defaultValue = "llama", description = "llama, qwen2, qwen3 or mistral (default: ${DEFAULT-VALUE}).")
    String arch;

    @Option(names = "--preset", defaultValue = "tiny", description = "tiny, 125m, 1b or 8b (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--out", required = true, description = "The directory to create; it must not exist.")
    Path out;

    @Option(names = "--dtype", defaultValue = "bf16", description = "Weight dtype: bf16, fp16 or fp32 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--tokenizer", paramLabel = "DIR",
            description = "A Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, chat template) to copy in; "
                    + "the vocabulary size follows it, rounded up to a multiple of 64. Default: the bundled Mistral 32k tokenizer.")
    Path tokenizer;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--max-shard-bytes", defaultValue = "5000000000",
            description = "Split the weights into shards of at most this many bytes (default: ${DEFAULT-VALUE}, as Hugging Face).")
    long maxShardBytes;

    @Override
    public Integer call() throws Exception {
        Architecture architecture = architecture(arch);
        ModelConfig config = tokenizer == null ? bundledTokenizerConfig(architecture) : configFor(architecture, tokenizer);
        DType weightDtype = DtypeOption.parse(dtype, List.of(DType.BF16, DType.F16, DType.F32));
        List<WritableTensor> weights = randomWeights(config, weightDtype, seed);
        long parameters = weights.stream().mapToLong(w -> w.byteSize() / weightDtype.byteSize()).sum();
        spec.commandLine().getOut().printf("init-model: %s %s, %,d parameters (%s), writing %s%n", config.architecture().className(),
                ModelPresets.parse(preset).label(), parameters, weightDtype, out);
        CheckpointWriter.write(out, config, weights, maxShardBytes, dir -> {
            if (tokenizer == null) Tokenizer.writeBundled(dir);
            else Tokenizer.copyFiles(tokenizer, dir);
        });
        spec.commandLine().getOut().println("init-model: done");
        return 0;
    }

    private ModelConfig bundledTokenizerConfig(Architecture architecture) {
        if (architecture == Architecture.QWEN2) {
            // transformers loads every model_type qwen2 directory with its Qwen2Tokenizer, whatever
            // tokenizer_class says: byte-level BPE rebuilt from the vocabulary, which splits text
            // differently from the bundled SentencePiece-style tokenizer.json (it drops the spaces).
            throw new IllegalArgumentException("--arch qwen2 needs --tokenizer DIR with a Qwen tokenizer: transformers reads every qwen2 "
                    + "directory with Qwen2Tokenizer, which would tokenize text differently from the bundled Mistral tokenizer");
        }
        return ModelPresets.parse(preset).config(architecture);
    }

    private ModelConfig configFor(Architecture architecture, Path tokenizerDir) {
        if (!Files.isRegularFile(tokenizerDir.resolve("tokenizer.json"))) {
            throw new IllegalArgumentException("--tokenizer " + tokenizerDir + ": expected a directory holding tokenizer.json");
        }
        try (Tokenizer t = Tokenizer.load(tokenizerDir)) {
            int vocab = (t.idCount() + 63) / 64 * 64;
            long eos = t.eosId();
            if (eos < 0) throw new IllegalArgumentException("--tokenizer " + tokenizerDir + ": no eos_token in its tokenizer_config.json");
            return ModelPresets.parse(preset).config(architecture, vocab, (int) t.bosId(), (int) eos);
        }
    }

    static Architecture architecture(String name) {
        for (Architecture a : Architecture.values()) {
            if (a.modelType().equalsIgnoreCase(name.strip()) || a.className().equalsIgnoreCase(name.strip())) return a;
        }
        throw new IllegalArgumentException("--arch " + name + ": expected one of "
                + Arrays.stream(Architecture.values()).map(Architecture::modelType).toList());
    }

    /**
     * Weights as {@link Parameters#random} makes them, each generated only when the writer reaches it,
     * so memory holds one tensor at a time (an 8B model does not fit twice in a laptop).
     */
    static List<WritableTensor> randomWeights(ModelConfig config, DType dtype, long seed) {
        List<WritableTensor> out = new ArrayList<>();
        int index = 0;
        for (var e : Parameters.shapes(config).entrySet()) {
            String name = e.getKey();
            long[] shape = e.getValue();
            int i = index++;
            out.add(new WritableTensor(name, dtype, shape, () -> Parameters.initial(name, shape, seed, i, dtype)));
        }
        return out;
    }
}
