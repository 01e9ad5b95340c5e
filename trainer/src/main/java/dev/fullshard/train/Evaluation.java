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

    /** A rank's share of an evaluation: the sum of its token losses and how many target tokens it counted. */
    public record Sum(double sum, long tokens) {
    }

    private Evaluation() {
    }

    /**
     * Rank {@code rank} of {@code ranks}' share of one pass over epoch 0: the micro-batches with index
     * ≡ rank (mod ranks). With {@code lockstep}, every rank runs the same number of forwards (those
     * that run out repeat the first micro-batch and discard it), as sharded weights need every rank at
     * each unit's all-gather.
     */
    public static Sum share(CausalLm lm, TrainingData data, int rank, int ranks, boolean lockstep) {
        double sum = 0;
        long tokens = 0;
        int index = 0, mine = 0;
        DataPosition at = DataPosition.START;
        while (at.epoch() == 0) {
            try (TensorScope ignored = TensorScope.open()) {
                MicroBatch mb = data.microBatch(at);
                if (index++ % ranks == rank && (lockstep || mb.targetTokens() > 0)) {
                    mine++;
                    CausalLm.Loss l = lm.loss(mb.tokensTensor(), mb.targetsTensor());
                    if (l.tokens() > 0) {
                        sum += l.sum();
                        tokens += l.tokens();
                    }
                }
                at = mb.next();
            }
        }
        int rounds = (index + ranks - 1) / ranks;
        for (int extra = mine; lockstep && extra < rounds; extra++) {
            try (TensorScope ignored = TensorScope.open()) {
                MicroBatch mb = data.microBatch(DataPosition.START);
                lm.loss(mb.tokensTensor(), mb.targetsTensor());
            }
        }
        return new Sum(sum, tokens);
    }

    /** One pass over epoch 0 of {@code data} (give it unshuffled data); the model's label smoothing applies. */
    public static Result run(CausalLm lm, TrainingData data) {
        Sum s = share(lm, data, 0, 1, false);
        if (s.tokens() == 0) throw new IllegalArgumentException("the evaluation data has no target tokens");
        return new Result(s.sum() / s.tokens(), s.tokens());
    }
}
