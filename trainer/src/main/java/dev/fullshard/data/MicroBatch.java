package dev.fullshard.data;

import dev.fullshard.tensor.Tensor;

/**
 * One micro-batch, row-major (batchSize, seqLen).
 *
 * @param tokens       input ids; padding is EOS
 * @param targets      next-token targets, already shifted: {@code targets[t] = labels[t+1]} within an
 *                     example, -100 at masked positions, at padding and at each example's last token
 * @param sequences    real sequences in it; the rest (only in an epoch's last micro-batch) are all padding
 * @param targetTokens targets that are not -100: sum these over the micro-batches of one optimizer step
 *                     and divide the summed loss by it, so every target token weighs the same
 * @param position     where this micro-batch starts
 * @param next         where the next one starts (save this in a checkpoint after the step)
 */
public record MicroBatch(int batchSize, int seqLen, long[] tokens, long[] targets, int sequences, long targetTokens,
                         DataPosition position, DataPosition next) {
    /** (batchSize, seqLen) int64, for {@code CausalLm.forwardBackward}. */
    public Tensor tokensTensor() {
        return Tensor.of(tokens, batchSize, seqLen);
    }

    /** (batchSize, seqLen) int64, already shifted (do not shift again). */
    public Tensor targetsTensor() {
        return Tensor.of(targets, batchSize, seqLen);
    }
}
