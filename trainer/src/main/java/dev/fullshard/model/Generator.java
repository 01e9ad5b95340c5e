package dev.fullshard.model;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import dev.fullshard.tensor.Views;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.LongConsumer;

/**
 * Text continuation for sanity checks after fine-tuning: greedy decoding, or temperature with
 * nucleus (top-p) sampling. It recomputes the whole sequence for every new token (no KV cache), which
 * is fine for short checks and keeps it independent of the training code paths it checks.
 */
public final class Generator {
    /**
     * How to pick the next token.
     *
     * @param temperature 0 for greedy decoding; otherwise logits are divided by it before the softmax
     * @param topP        keep the smallest set of most likely tokens whose probability reaches topP (1 = all)
     * @param seed        for the sampler (unused when greedy)
     */
    public record Sampling(double temperature, double topP, long seed) {
        public Sampling {
            if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
            if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        }

        public static Sampling greedy() {
            return new Sampling(0, 1, 0);
        }
    }

    private Generator() {
    }

    /**
     * Appends up to {@code maxNewTokens} tokens to {@code prompt}, stopping after {@code eosTokenId}
     * (if ≥ 0), and returns only the new tokens; each is also passed to {@code onToken} as it is chosen.
     */
    public static long[] generate(CausalLm model, long[] prompt, int maxNewTokens, Sampling sampling, long eosTokenId,
                                  LongConsumer onToken) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt must hold at least one token");
        SplittableRandom random = new SplittableRandom(sampling.seed());
        long[] sequence = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int length = prompt.length;
        while (length < sequence.length) {
            double[] logits;
            try (TensorScope ignored = TensorScope.open()) {
                Tensor all = model.logits(Tensor.of(Arrays.copyOf(sequence, length), 1, length));
                logits = Views.select(Views.select(all, 0, 0), 0, length - 1).to(DType.F64).toDoubleArray();
            }
            long next = sampling.temperature() == 0 ? argmax(logits) : sample(logits, sampling, random);
            sequence[length++] = next;
            onToken.accept(next);
            if (next == eosTokenId) break;
        }
        return Arrays.copyOfRange(sequence, prompt.length, length);
    }

    static int argmax(double[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    /** Softmax at the temperature, then nucleus sampling over the most likely tokens. */
    static int sample(double[] logits, Sampling sampling, SplittableRandom random) {
        double max = Arrays.stream(logits).max().orElseThrow();
        double[] p = new double[logits.length];
        double total = 0;
        for (int i = 0; i < p.length; i++) total += p[i] = Math.exp((logits[i] - max) / sampling.temperature());
        Integer[] order = new Integer[p.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(p[b], p[a]));
        int kept = 0;
        double mass = 0;
        while (kept < order.length && mass < sampling.topP() * total) mass += p[order[kept++]];
        double u = random.nextDouble() * mass;
        for (int k = 0; k < kept; k++) {
            u -= p[order[k]];
            if (u < 0) return order[k];
        }
        return order[kept - 1];
    }
}
