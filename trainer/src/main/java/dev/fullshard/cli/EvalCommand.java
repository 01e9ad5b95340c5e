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
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code fullshard eval}: mean token loss and perplexity of a model on a JSONL dataset, without training. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Print the mean token loss and perplexity of a model directory on JSONL data.")
public final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ModelOption modelOption;

    @Mixin
    DataArguments data;

    @Option(names = "--batch", defaultValue = "4", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--packing", defaultValue = "false", description = "Pack several examples per sequence (default: ${DEFAULT-VALUE}).")
    boolean packing;

    @Mixin
    ComputeDtypeOption dtype;

    @Override
    public Integer call() throws Exception {
        DType compute = dtype.value();
        Path model = modelOption.directory();
        try (Tokenizer tokenizer = Tokenizer.load(model); TensorScope ignored = TensorScope.open()) {
            DataOptions options = data.options(tokenizer);
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
