package dev.fullshard.model;

import dev.fullshard.model.TinyModels.Variant;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import dev.fullshard.tensor.TensorScope;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/**
 * The model's logits against {@link NaiveLlama}, an independent double-precision forward in plain
 * loops, for every architecture variant; in float64, float32 and bfloat16 compute.
 */
@ExtendWith(NoLeakedTensors.class)
class ModelLogitsTest {
    private static final int BATCH = 2, SEQ = 7;

    /**
     * Largest |model − naive| over all logits, printed for the report. Logits here are O(1–10) (random
     * weights of std 0.3, embeddings of std 1).
     */
    private static double maxError(String what, Tensor logits, double[][][] expected) {
        double[] got = logits.toDoubleArray();
        int v = expected[0][0].length, t = expected[0].length;
        double worst = 0, scale = 0;
        for (int b = 0; b < expected.length; b++) {
            for (int i = 0; i < t; i++) {
                for (int j = 0; j < v; j++) {
                    worst = Math.max(worst, Math.abs(got[(b * t + i) * v + j] - expected[b][i][j]));
                    scale = Math.max(scale, Math.abs(expected[b][i][j]));
                }
            }
        }
        System.out.printf("[max-error] %-64s max|err| %.3e (max |logit| %.2f)%n", what, worst, scale);
        return worst;
    }

    @ParameterizedTest
    @EnumSource(Variant.class)
    void float64LogitsMatchTheNaiveForward(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 21, DType.F64);
            Tensor tokens = TinyModels.tokens(c, 22, BATCH, SEQ);
            Tensor logits = new CausalLm(p, CausalLm.Options.defaults().withComputeDtype(DType.F64)).logits(tokens);
            assertThat(logits.shape()).containsExactly(BATCH, SEQ, c.vocabSize());
            assertThat(logits.dtype()).isEqualTo(DType.F64);
            double[][][] expected = new NaiveLlama(c, p).logits(NaiveLlama.rows(tokens));
            assertThat(maxError("logits f64 vs naive " + variant, logits, expected)).isLessThan(1e-11);
        }
    }

    /**
     * float32 parameters and compute against the naive forward on the same (float32-valued) parameters:
     * float32 rounding through two layers: observed ≤ 6e-6 on logits up to 12.
     */
    @ParameterizedTest
    @EnumSource(value = Variant.class, names = {"LLAMA_UNTIED", "QWEN3_QK_NORM", "LLAMA_BIAS_MQA"})
    void float32LogitsMatchTheNaiveForward(Variant variant) {
        ModelConfig c = variant.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 23, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 24, BATCH, SEQ);
            Tensor logits = new CausalLm(p, CausalLm.Options.defaults()).logits(tokens);
            assertThat(logits.dtype()).isEqualTo(DType.F32);
            double[][][] expected = new NaiveLlama(c, p).logits(NaiveLlama.rows(tokens));
            assertThat(maxError("logits f32 vs naive " + variant, logits, expected)).isLessThan(5e-5);
        }
    }

    /**
     * bfloat16 compute from float32 parameters: every weight and activation is rounded to 8 bits of
     * mantissa (relative 2⁻⁹ ≈ 0.2%) at each of ~20 steps; logits of magnitude ≤ 10 are off by up to ~0.1.
     * The bound is loose on purpose: it catches a wrong computation, not bf16's rounding.
     */
    @Test
    void bfloat16LogitsAreCloseToTheNaiveForward() {
        ModelConfig c = Variant.LLAMA_UNTIED.config;
        try (TensorScope s = TensorScope.open()) {
            Parameters p = TinyModels.randomParameters(c, 25, DType.F32);
            Tensor tokens = TinyModels.tokens(c, 26, BATCH, SEQ);
            Tensor logits = new CausalLm(p, CausalLm.Options.defaults().withComputeDtype(DType.BF16)).logits(tokens);
            assertThat(logits.dtype()).isEqualTo(DType.F32);
            double[][][] expected = new NaiveLlama(c, p).logits(NaiveLlama.rows(tokens));
            assertThat(maxError("logits bf16 compute vs naive LLAMA_UNTIED", logits, expected)).isLessThan(0.25);
        }
    }

    @Test
    void llama3ScalingTakesAllThreeBranches() {
        ModelConfig scaled = Variant.LLAMA_UNTIED.config;
        ModelConfig plain = TinyModels.config(ModelConfig.Architecture.LLAMA, 4, 2, 8, false, false, false, null, null);
        double[] a = Rotary.inverseFrequencies(scaled), b = Rotary.inverseFrequencies(plain);
        for (int j = 0; j < a.length; j++) assertThat(a[j]).isCloseTo(NaiveLlama.frequency(scaled, j), offset(1e-15));
        assertThat(a[0]).as("high frequency: kept").isEqualTo(b[0]);
        assertThat(a[1]).as("medium: interpolated").isStrictlyBetween(b[1] / 8, b[1]);
        assertThat(a[2]).as("low frequency: divided by factor").isCloseTo(b[2] / 8, offset(1e-18));
    }

    /** Changing a later token leaves the logits of every earlier position bit-identical (causal mask). */
    @Test
    void earlierPositionsDoNotSeeLaterTokens() {
        ModelConfig c = Variant.QWEN2_TIED_BIAS.config;
        try (TensorScope s = TensorScope.open()) {
            CausalLm model = new CausalLm(TinyModels.randomParameters(c, 27, DType.F64), CausalLm.Options.defaults().withComputeDtype(DType.F64));
            long[] ids = TinyModels.tokens(c, 28, 1, SEQ).toLongArray();
            double[] before = model.logits(Tensor.of(ids, 1, SEQ)).toDoubleArray();
            ids[4] = (ids[4] + 1) % c.vocabSize();
            double[] after = model.logits(Tensor.of(ids, 1, SEQ)).toDoubleArray();
            int v = c.vocabSize();
            assertThat(java.util.Arrays.copyOf(after, 4 * v)).containsExactly(java.util.Arrays.copyOf(before, 4 * v));
            assertThat(after[4 * v]).isNotEqualTo(before[4 * v]);
        }
    }
}
