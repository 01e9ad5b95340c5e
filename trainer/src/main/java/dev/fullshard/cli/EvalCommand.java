package dev.fullshard.cli;

import dev.fullshard.data.DataOptions;
import dev.fullshard.data.TokenizedDataset;
import dev.fullshard.data.Tokenizer;
import dev.fullshard.data.TrainingData;
import dev.fullshard.io.HfModel;
import dev.fullshard.model.CausalLm;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.train.Evaluation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code fullshard eval}: mean token loss and perplexity of a model on a JSONL dataset, without training. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Print the mean token loss and perplexity of a model directory on JSONL data.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Hugging Face model directory (config.json, safetensors, tokenizer.json).")
    Path model;

    @Mixin
    DataArguments data;

    @Option(names = "--batch", defaultValue = "4", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--packing", defaultValue = "false", description = "Pack several examples per sequence (default: ${DEFAULT-VALUE}).")
    boolean packing;

    @Option(names = "--dtype", defaultValue = "f32", description = "Compute dtype: f32 or bf16 (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Override
    public Integer call() throws Exception {
        DType compute = DtypeOption.parse(dtype, List.of(DType.F32, DType.BF16));
        DataOptions options = data.options();
        ModelOption.directory(model);
        try (Tokenizer tokenizer = Tokenizer.load(model); TensorScope ignored = TensorScope.open()) {
            TokenizedDataset dataset = TokenizedDataset.load(data.files, tokenizer, options);
            TrainingData batches = TrainingData.of(dataset, new TrainingData.Options(batch, packing, false, 0));
            HfModel loaded = HfModel.load(model, DType.F32);
            CausalLm lm = new CausalLm(loaded.parameters(), CausalLm.Options.defaults().withComputeDtype(compute));
            Evaluation.Result r = Evaluation.run(lm, batches);
            spec.commandLine().getOut().printf(Locale.ROOT, "eval: %s on %s: loss %.4f, perplexity %.3f (%d target tokens, %d examples)%n",
                    model, data.files, r.loss(), r.perplexity(), r.tokens(), dataset.size());
        }
        return 0;
    }
}
