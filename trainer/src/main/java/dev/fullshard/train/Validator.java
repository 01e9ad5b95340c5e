package dev.fullshard.train;

import dev.fullshard.data.TrainingData;
import dev.fullshard.dist.Communicator;
import dev.fullshard.model.CausalLm;
import dev.fullshard.shard.ShardedModel;

import java.util.Locale;

/** The evaluation loss of a run, over its evaluation data, written to the metrics and the console. */
final class Validator {
    private final Communicator comm;
    private final ShardedModel model;
    private final CausalLm lm;
    private final TrainingData data;

    /** {@code lm}: the model without label smoothing, so the eval loss is the plain cross-entropy. */
    Validator(Communicator comm, ShardedModel model, CausalLm lm, TrainingData data) {
        this.comm = comm;
        this.model = model;
        this.lm = lm;
        this.data = data;
    }

    /** Every rank evaluates its share of the batches and the sums are added up over the ranks; returns the loss. */
    double run(long step, MetricsLog metrics, Progress progress) {
        Evaluation.Sum mine = Evaluation.share(lm, data, comm.rank(), comm.size(), model.passesInLockstep());
        double[] sums = {mine.sum(), mine.tokens()};
        comm.allReduceSum(sums);
        if (sums[1] == 0) throw new IllegalArgumentException("the evaluation data has no target tokens");
        Evaluation.Result r = new Evaluation.Result(sums[0] / sums[1], (long) sums[1]);
        metrics.eval(step, r.loss(), r.tokens());
        progress.message(String.format(Locale.ROOT, "eval: step %d loss %.4f perplexity %.2f (%d tokens)", step, r.loss(), r.perplexity(),
                r.tokens()));
        return r.loss();
    }
}
