package dev.fullshard.model;

import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Greedy decoding against the plain-Java double forward; sampling against its definition. */
@ExtendWith(NoLeakedTensors.class)
class GeneratorTest {
    private static final ModelConfig CONFIG = TinyModels.Variant.LLAMA_UNTIED.config;

    @Test
    void greedyDecodingPicksTheArgmaxOfAnIndependentForwardAtEveryStep() {
        try (TensorScope ignored = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(CONFIG, 11, DType.F64);
            CausalLm model = new CausalLm(p, CausalLm.Options.defaults().withComputeDtype(DType.F64));
            long[] prompt = {1, 5, 9, 3};
            List<Long> streamed = new ArrayList<>();
            long[] generated = Generator.generate(model, prompt, 6, Generator.Sampling.greedy(), -1, streamed::add);

            NaiveLlama naive = new NaiveLlama(CONFIG, p);
            long[] sequence = Arrays.copyOf(prompt, prompt.length + generated.length);
            for (int step = 0; step < generated.length; step++) {
                int length = prompt.length + step;
                double[][][] logits = naive.logits(new long[][] {Arrays.copyOf(sequence, length)});
                long expected = Generator.argmax(logits[0][length - 1]);
                assertThat(generated[step]).as("token %d", step).isEqualTo(expected);
                sequence[length] = expected;
            }
            assertThat(streamed).containsExactly(Arrays.stream(generated).boxed().toArray(Long[]::new));
        }
    }

    @Test
    void stopsAfterTheEndOfSequenceToken() {
        try (TensorScope ignored = TensorScope.open()) {
            CausalLm model = new CausalLm(TinyModels.randomParameters(CONFIG, 11, DType.F32), CausalLm.Options.defaults());
            long[] free = Generator.generate(model, new long[] {1, 5}, 5, Generator.Sampling.greedy(), -1, t -> { });
            long eos = free[1];
            int firstEos = 0;
            while (free[firstEos] != eos) firstEos++;
            long[] stopped = Generator.generate(model, new long[] {1, 5}, 5, Generator.Sampling.greedy(), eos, t -> { });
            assertThat(stopped).containsExactly(Arrays.copyOf(free, firstEos + 1));
        }
    }

    @Test
    void topPSamplesOnlyFromTheNucleusWithTheRenormalisedProbabilities() {
        // probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1: top-p 0.75 keeps the smallest set reaching
        // 0.75, the first two (0.5 + 0.3).
        double[] logits = {Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)};
        Generator.Sampling sampling = new Generator.Sampling(1.0, 0.75, 0);
        SplittableRandom random = new SplittableRandom(42);
        int[] counts = new int[4];
        int n = 20_000;
        for (int i = 0; i < n; i++) counts[Generator.sample(logits, sampling, random)]++;
        assertThat(counts[2] + counts[3]).isZero();
        // 0.5 / 0.8 = 0.625; a binomial standard deviation here is about 0.0034.
        assertThat(counts[0] / (double) n).isCloseTo(0.625, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void rejectsBadSamplingSettings() {
        assertThatThrownBy(() -> new Generator.Sampling(-1, 0.9, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> new Generator.Sampling(1, 0, 0)).hasMessageContaining("top_p");
    }
}
