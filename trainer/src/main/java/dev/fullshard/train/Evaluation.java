package dev.fullshard.train;

import dev.fullshard.data.DataPosition;
import dev.fullshard.data.MicroBatch;
import dev.fullshard.data.TrainingData;
import dev.fullshard.model.CausalLm;
import dev.fullshard.tensor.TensorScope;

/** The mean token loss of a model over one pass of a dataset, forward only. */
public final class Evaluation {
    /** Mean loss per target token, and how many target tokens it averages. */
    public record Result(double loss, long tokens) {
        public double perplexity() {
            return Math.exp(loss);
        }
    }

    private Evaluation() {
    }

    /** One pass over epoch 0 of {@code data} (give it unshuffled data); the model's label smoothing applies. */
    public static Result run(CausalLm lm, TrainingData data) {
        double sum = 0;
        long tokens = 0;
        DataPosition at = DataPosition.START;
        while (at.epoch() == 0) {
            try (TensorScope ignored = TensorScope.open()) {
                MicroBatch mb = data.microBatch(at);
                if (mb.targetTokens() > 0) {
                    CausalLm.Loss l = lm.loss(mb.tokensTensor(), mb.targetsTensor());
                    sum += l.sum();
                    tokens += l.tokens();
                }
                at = mb.next();
            }
        }
        if (tokens == 0) throw new IllegalArgumentException("the evaluation data has no target tokens");
        return new Result(sum / tokens, tokens);
    }
}
