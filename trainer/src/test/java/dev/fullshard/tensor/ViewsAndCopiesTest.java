package dev.fullshard.tensor;

import dev.fullshard.tensor.RefMath.Input;
import dev.fullshard.tensor.RefMath.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static dev.fullshard.tensor.Ref.assertExact;
import static dev.fullshard.tensor.RefMath.input;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Views, copies, casts and creation in {@link Views}, {@link Copies} and {@link Tensor}, checked element by element
 * against index arithmetic in Java ({@link RefMath}), in float32 and bfloat16. Moving values never
 * rounds, so these comparisons are exact; casts are compared bit for bit.
 */
@ExtendWith(NoLeakedTensors.class)
class ViewsAndCopiesTest {
    /** Whether {@code view} shares memory with {@code base}: a fill through the view shows in the base. */
    private static boolean sharesStorage(Tensor view, Tensor base) {
        try (TensorScope s = TensorScope.open()) {
            Ref before = Ref.of(base);
            Copies.fill(view, 12345);
            return !java.util.Arrays.equals(Ref.of(base).data, before.data);
        }
    }

    // ---------------------------------------------------------------- views

    @ParameterizedTest(name = "aten::view {0}")
    @EnumSource(names = {"F32", "BF16"})
    void view(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(Ref.randn(1, 1, 4, 6), dtype, Layout.CONTIGUOUS);
            Tensor v = Views.view(x.tensor(), 3, -1);
            assertThat(v.shape()).containsExactly(3, 8);
            assertExact(v, RefMath.reshape(x.values(), 3, 8), "view(3, -1)");
            assertExact(Views.view(x.tensor(), 2, 2, 6), RefMath.reshape(x.values(), 2, 2, 6), "view(2, 2, 6)");
            assertThat(sharesStorage(v, x.tensor())).as("a view shares storage").isTrue();
        }
    }

    @Test
    void viewOfATransposeIsRefusedByAten() {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(Ref.randn(2, 1, 4, 6), DType.F32, Layout.TRANSPOSED);
            assertThatThrownBy(() -> Views.view(x.tensor(), 24)).isInstanceOf(TorchException.class).hasMessageContaining("view");
        }
    }

    @ParameterizedTest(name = "aten::reshape {0}")
    @EnumSource(names = {"F32", "BF16"})
    void reshape(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(Ref.randn(3, 1, 4, 6), dtype, Layout.CONTIGUOUS);
            Tensor r = Views.reshape(x.tensor(), -1, 4);
            assertExact(r, RefMath.reshape(x.values(), 6, 4), "reshape(-1, 4)");
            assertThat(sharesStorage(r, x.tensor())).as("reshape of a contiguous tensor is a view").isTrue();
        }
    }

    @ParameterizedTest(name = "aten::reshape of a non-contiguous tensor copies {0}")
    @EnumSource(names = {"F32", "BF16"})
    void reshapeOfNonContiguousCopies(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(Ref.randn(4, 1, 4, 6), dtype, Layout.TRANSPOSED);
            Tensor r = Views.reshape(x.tensor(), 24);
            assertThat(r.isContiguous()).isTrue();
            assertExact(r, RefMath.reshape(x.values(), 24), "reshape(24) of a transpose");
            assertExact(Views.reshape(x.tensor(), 2, -1, 3), RefMath.reshape(x.values(), 2, 4, 3), "reshape(2, -1, 3) of a transpose");
            assertThat(sharesStorage(r, x.tensor())).as("reshape of a transpose copies").isFalse();
        }
    }

    @ParameterizedTest(name = "aten::reshape of an evenly strided tensor is a view {0}")
    @EnumSource(names = {"F32", "BF16"})
    void reshapeOfEvenlyStridedIsAView(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // every other column of a (4, 12) tensor: element (r, c) sits at 2·(6r + c), one stride of 2
            Input x = input(Ref.randn(39, 1, 4, 6), dtype, Layout.STRIDED);
            Tensor r = Views.reshape(x.tensor(), -1);
            assertThat(r.strides()).containsExactly(2);
            assertExact(r, RefMath.reshape(x.values(), 24), "reshape(-1) of every other column");
            assertThat(sharesStorage(r, x.tensor())).as("reshape that can be a view is one").isTrue();
        }
    }

    @ParameterizedTest(name = "aten::transpose.int {0}")
    @EnumSource(names = {"F32", "BF16"})
    void transpose(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input x = input(Ref.randn(5, 1, 3, 4, 5), dtype, Layout.CONTIGUOUS);
            Tensor t = Views.transpose(x.tensor(), 0, 2);
            assertThat(t.shape()).containsExactly(5, 4, 3);
            assertThat(t.strides()).containsExactly(1, 5, 20);
            assertThat(t.isContiguous()).isFalse();
            assertExact(t, x.values().transpose(0, 2), "transpose(0, 2)");
            assertExact(Views.transpose(x.tensor(), -1, 1), x.values().transpose(2, 1), "transpose(-1, 1)");
            assertThat(sharesStorage(t, x.tensor())).isTrue();
        }
    }

    @ParameterizedTest(name = "aten::permute {0}")
    @EnumSource(names = {"F32", "BF16"})
    void permute(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(6, 1, 3, 4, 5), dtype, layout);
                assertExact(Views.permute(x.tensor(), 2, 0, 1), RefMath.permute(x.values(), 2, 0, 1), "permute(2, 0, 1) " + layout);
                assertExact(Views.permute(x.tensor(), -1, 1, 0), RefMath.permute(x.values(), 2, 1, 0), "permute(-1, 1, 0) " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::slice.Tensor {0}")
    @EnumSource(names = {"F32", "BF16"})
    void slice(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(7, 1, 5, 7), dtype, layout);
                assertExact(Views.slice(x.tensor(), 1, 1, 6, 2), RefMath.slice(x.values(), 1, 1, 6, 2), "slice(1, 1:6:2) " + layout);
                assertExact(Views.slice(x.tensor(), 0, 2, 100, 1), RefMath.slice(x.values(), 0, 2, 5, 1), "slice(0, 2:100) clamps " + layout);
                assertExact(Views.slice(x.tensor(), -1, 0, 7, 3), RefMath.slice(x.values(), 1, 0, 7, 3), "slice(-1, 0:7:3) " + layout);
            }
        }
    }

    @Test
    void sliceWritesThroughToTheBase() {
        try (TensorScope s = TensorScope.open()) {
            Ref values = Ref.randn(8, 1, 5, 7);
            Tensor base = values.toTensor(DType.F32);
            Ref expected = Ref.of(base);
            Copies.fill(Views.slice(base, 1, 1, 7, 3), -9);
            for (long r = 0; r < 5; r++) for (long c = 1; c < 7; c += 3) expected.set(-9, r, c);
            assertExact(base, expected, "base after filling slice(1, 1:7:3)");
        }
    }

    @ParameterizedTest(name = "aten::narrow {0}")
    @EnumSource(names = {"F32", "BF16"})
    void narrow(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(9, 1, 5, 7), dtype, layout);
                assertExact(Views.narrow(x.tensor(), 0, 1, 3), RefMath.slice(x.values(), 0, 1, 4, 1), "narrow(0, 1, 3) " + layout);
                assertExact(Views.narrow(x.tensor(), 1, 6, 1), RefMath.slice(x.values(), 1, 6, 7, 1), "narrow(1, 6, 1) " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::select.int {0}")
    @EnumSource(names = {"F32", "BF16"})
    void select(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(10, 1, 3, 4, 5), dtype, layout);
                assertExact(Views.select(x.tensor(), 1, 2), RefMath.select(x.values(), 1, 2), "select(1, 2) " + layout);
                assertExact(Views.select(x.tensor(), 0, -1), RefMath.select(x.values(), 0, 2), "select(0, -1) " + layout);
                assertExact(Views.select(x.tensor(), -1, 4), RefMath.select(x.values(), 2, 4), "select(-1, 4) " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::unsqueeze and aten::squeeze.dim {0}")
    @EnumSource(names = {"F32", "BF16"})
    void unsqueezeAndSqueeze(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(11, 1, 4, 6), dtype, layout);
                Tensor u = Views.unsqueeze(x.tensor(), 1);
                assertExact(u, RefMath.unsqueeze(x.values(), 1), "unsqueeze(1) " + layout);
                assertExact(Views.unsqueeze(x.tensor(), -1), RefMath.unsqueeze(x.values(), 2), "unsqueeze(-1) " + layout);
                assertExact(Views.squeeze(u, 1), x.values(), "squeeze(1) " + layout);
                // squeeze of a dimension whose size is not 1 leaves the tensor as it is
                assertExact(Views.squeeze(u, 0), RefMath.unsqueeze(x.values(), 1), "squeeze(0) of size 4 " + layout);
            }
        }
    }

    @ParameterizedTest(name = "aten::expand {0}")
    @EnumSource(names = {"F32", "BF16"})
    void expand(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input row = input(Ref.randn(12, 1, 1, 6), dtype, Layout.STRIDED);
            Tensor e = Views.expand(row.tensor(), 4, 6);
            assertThat(e.strides()[0]).as("expanded dimension has stride 0").isZero();
            assertExact(e, RefMath.expand(row.values(), 4, 6), "expand (1,6)→(4,6)");
            assertExact(Views.expand(row.tensor(), 3, -1, -1), RefMath.expand(row.values(), 3, 1, 6), "expand(3, -1, -1)");

            Input column = input(Ref.randn(13, 1, 4, 1), dtype, Layout.STRIDED);
            assertExact(Views.expand(column.tensor(), 2, 4, 5), RefMath.expand(column.values(), 2, 4, 5), "expand (4,1)→(2,4,5)");
        }
    }

    @ParameterizedTest(name = "aten::contiguous {0}")
    @EnumSource(names = {"F32", "BF16"})
    void contiguous(DType dtype) {
        for (Layout layout : new Layout[]{Layout.TRANSPOSED, Layout.STRIDED}) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(14, 1, 4, 6), dtype, layout);
                Tensor c = Views.contiguous(x.tensor());
                assertThat(c.isContiguous()).isTrue();
                assertThat(c.strides()).containsExactly(6, 1);
                assertExact(c, x.values(), "contiguous of " + layout);
                assertThat(sharesStorage(c, x.tensor())).as("contiguous of a " + layout + " tensor copies").isFalse();
            }
        }
        try (TensorScope s = TensorScope.open()) {
            Tensor t = Ref.randn(15, 1, 4, 6).toTensor(dtype);
            assertThat(sharesStorage(Views.contiguous(t), t)).as("contiguous of a contiguous tensor is itself").isTrue();
        }
    }

    @ParameterizedTest(name = "aten::unbind.int {0}")
    @EnumSource(names = {"F32", "BF16"})
    void unbind(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(16, 1, 3, 4, 5), dtype, layout);
                for (int dim : new int[]{0, 1, 2}) {
                    Tensor[] parts = Views.unbind(x.tensor(), dim);
                    assertThat(parts).hasSize((int) x.values().shape[dim]);
                    for (int i = 0; i < parts.length; i++) {
                        assertExact(parts[i], RefMath.select(x.values(), dim, i), "unbind(" + dim + ")[" + i + "] " + layout);
                    }
                }
                Tensor[] rows = Views.unbind(x.tensor(), 0);
                assertThat(sharesStorage(rows[1], x.tensor())).as("unbind returns views").isTrue();
            }
        }
    }

    // ---------------------------------------------------------------- joining and repeating (copies)

    @ParameterizedTest(name = "aten::cat {0}")
    @EnumSource(names = {"F32", "BF16"})
    void cat(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input a = input(Ref.randn(17, 1, 3, 4), dtype, Layout.CONTIGUOUS);
            Input b = input(Ref.randn(18, 1, 2, 4), dtype, Layout.TRANSPOSED);
            Input c = input(Ref.randn(19, 1, 1, 4), dtype, Layout.STRIDED);
            assertExact(Copies.cat(0, a.tensor(), b.tensor(), c.tensor()), RefMath.cat(0, a.values(), b.values(), c.values()), "cat dim 0");

            Input d = input(Ref.randn(20, 1, 3, 2), dtype, Layout.TRANSPOSED);
            Input e = input(Ref.randn(21, 1, 3, 5), dtype, Layout.STRIDED);
            assertExact(Copies.cat(1, a.tensor(), d.tensor(), e.tensor()), RefMath.cat(1, a.values(), d.values(), e.values()), "cat dim 1");
            assertExact(Copies.cat(-1, d.tensor(), a.tensor()), RefMath.cat(1, d.values(), a.values()), "cat dim -1");
        }
    }

    @ParameterizedTest(name = "aten::stack {0}")
    @EnumSource(names = {"F32", "BF16"})
    void stack(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Input a = input(Ref.randn(22, 1, 3, 4), dtype, Layout.CONTIGUOUS);
            Input b = input(Ref.randn(23, 1, 3, 4), dtype, Layout.TRANSPOSED);
            Input c = input(Ref.randn(24, 1, 3, 4), dtype, Layout.STRIDED);
            for (int dim = 0; dim <= 2; dim++) {
                Tensor r = Copies.stack(dim, a.tensor(), b.tensor(), c.tensor());
                assertExact(r, RefMath.stack(dim, a.values(), b.values(), c.values()), "stack dim " + dim);
            }
            assertExact(Copies.stack(-1, a.tensor(), b.tensor()), RefMath.stack(2, a.values(), b.values()), "stack dim -1");
        }
    }

    @ParameterizedTest(name = "aten::repeat_interleave.self_int {0}")
    @EnumSource(names = {"F32", "BF16"})
    void repeatInterleave(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(25, 1, 2, 3, 4), dtype, layout);
                for (int dim = 0; dim < 3; dim++) {
                    assertExact(Copies.repeatInterleave(x.tensor(), 3, dim), RefMath.repeatInterleave(x.values(), 3, dim),
                            "repeat_interleave(3, " + dim + ") " + layout);
                }
                assertExact(Copies.repeatInterleave(x.tensor(), 2, -1), RefMath.repeatInterleave(x.values(), 2, 2), "repeat_interleave(2, -1) " + layout);
            }
        }
    }

    // ---------------------------------------------------------------- copies and fills

    @ParameterizedTest(name = "aten::clone {0}")
    @EnumSource(names = {"F32", "BF16"})
    void cloneOp(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(26, 1, 4, 6), dtype, layout);
                Tensor c = Copies.clone(x.tensor());
                assertThat(c.dtype()).isEqualTo(dtype);
                assertExact(c, x.values(), "clone of " + layout);
                assertThat(sharesStorage(c, x.tensor())).as("clone copies").isFalse();
            }
        }
    }

    @ParameterizedTest(name = "aten::copy_ {0}")
    @EnumSource(names = {"F32", "BF16"})
    void copyInto(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor base = Tensor.zeros(dtype, Device.CPU, 6, 4);
            Tensor dst = Views.transpose(base, 0, 1);
            Input src = input(Ref.randn(27, 1, 4, 6), dtype, Layout.STRIDED);
            Copies.copyInto(dst, src.tensor());
            assertExact(base, src.values().transpose(0, 1), "copy_ into a transposed view, seen in its base");

            Input row = input(Ref.randn(28, 1, 6), dtype, Layout.STRIDED);
            Copies.copyInto(dst, row.tensor());
            assertExact(dst, RefMath.expand(row.values(), 4, 6), "copy_ broadcasting a row");
        }
    }

    @ParameterizedTest(name = "aten::copy_ casting from float64 {0}")
    @EnumSource(names = {"F32", "BF16"})
    void copyIntoCasts(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Ref values = Ref.randn(29, 1, 3, 5);
            Tensor dst = Tensor.zeros(dtype, Device.CPU, 2, 3, 5);
            Copies.copyInto(dst, values.toTensor(DType.F64));
            assertExact(dst, RefMath.expand(values.map(v -> Ref.round(v, dtype)), 2, 3, 5), "copy_ f64 → " + dtype + " broadcast");
        }
    }

    @ParameterizedTest(name = "aten::zero_ {0}")
    @EnumSource(names = {"F32", "BF16"})
    void zero(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor base = Ref.randn(30, 1, 4, 6).toTensor(dtype);
            Ref expected = Ref.of(base);
            Copies.zero(Views.slice(Views.transpose(base, 0, 1), 0, 1, 6, 2));
            for (long r = 0; r < 4; r++) for (long c = 1; c < 6; c += 2) expected.set(0, r, c);
            assertExact(base, expected, "zero_ of columns 1, 3, 5");
            Copies.zero(base);
            assertExact(base, Ref.zeros(4, 6), "zero_ of everything");
        }
    }

    @ParameterizedTest(name = "aten::fill_.Scalar {0}")
    @EnumSource(names = {"F32", "BF16"})
    void fill(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            Tensor base = Ref.randn(31, 1, 4, 6).toTensor(dtype);
            Ref expected = Ref.of(base);
            Copies.fill(Views.select(base, 1, 2), 1.0 / 3);
            for (long r = 0; r < 4; r++) expected.set(Ref.round(1.0 / 3, dtype), r, 2);
            assertExact(base, expected, "fill_ of column 2 with 1/3");
            Copies.fill(base, Double.NEGATIVE_INFINITY);
            assertExact(base, Ref.zeros(4, 6).map(v -> Double.NEGATIVE_INFINITY), "fill_ with -inf");
        }
    }

    @ParameterizedTest(name = "aten::zeros_like and aten::ones_like {0}")
    @EnumSource(names = {"F32", "BF16"})
    void zerosLikeOnesLike(DType dtype) {
        for (Layout layout : Layout.values()) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(32, 1, 4, 6), dtype, layout);
                Tensor z = Copies.zerosLike(x.tensor()), o = Copies.onesLike(x.tensor());
                assertThat(z.dtype()).isEqualTo(dtype);
                assertThat(o.dtype()).isEqualTo(dtype);
                assertExact(z, Ref.zeros(4, 6), "zeros_like of " + layout);
                assertExact(o, Ref.zeros(4, 6).map(v -> 1), "ones_like of " + layout);
            }
        }
    }

    // ---------------------------------------------------------------- casts (aten::_to_copy), bit for bit

    /** Floats that probe rounding: ties both ways, subnormals, overflow, signed zeros, infinities. */
    private static float[] probeFloats(long seed) {
        Random r = new Random(seed);
        float[] f = new float[4096];
        int n = 0;
        for (float v : new float[]{0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-40f, -3e-39f,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 65504f, 65519.99f, 65520f,
                6e-8f, 3e-8f, 2.98e-8f, 1e-5f, 3.3895314e38f}) {
            f[n++] = v;
        }
        // Exact ties and near-ties for bf16: low 16 bits 0x8000 with even and odd kept bit, and ±1 ulp.
        for (int i = 0; i < 64; i++) {
            int high = (r.nextInt(0xFF) + 1) << 23 | r.nextInt(1 << 7) << 16 | (r.nextBoolean() ? 0x80000000 : 0);
            for (int low : new int[]{0x8000, 0x7FFF, 0x8001, 0x0000, 0xFFFF}) f[n++] = Float.intBitsToFloat(high | low);
        }
        // Exact ties for f16: 13 dropped mantissa bits equal to 0x1000.
        for (int i = 0; i < 64; i++) {
            int exponent = 127 - 14 + r.nextInt(30);
            f[n++] = Float.intBitsToFloat(exponent << 23 | r.nextInt(1 << 10) << 13 | 0x1000);
        }
        while (n < f.length) {
            f[n++] = switch (n % 3) {
                case 0 -> (float) r.nextGaussian();
                case 1 -> Float.intBitsToFloat(r.nextInt()); // any bit pattern, NaNs included
                default -> (float) (r.nextGaussian() * Math.pow(2, r.nextInt(60) - 30));
            };
        }
        return f;
    }

    /** The value of a bf16 bit pattern, reading the pattern just past the largest finite one as 2^128. */
    private static double bf16Value(int bits16) {
        if ((bits16 & 0x7FFF) == 0x7F80) return Math.copySign(0x1p128, (short) bits16);
        return Float.intBitsToFloat(bits16 << 16);
    }

    /**
     * bf16 by its definition, not by bit tricks: of the two bf16 neighbours of f, the nearer one, and on
     * a tie the one with an even last mantissa bit; a value that rounds past the largest finite one is infinity.
     */
    private static short bf16ByDistance(float f) {
        int bits = Float.floatToRawIntBits(f);
        int toward = bits >>> 16, away = toward + 1;
        if ((bits & 0xFFFF) == 0) return (short) toward;
        double dToward = Math.abs(f - bf16Value(toward)), dAway = Math.abs(bf16Value(away) - f);
        if (dToward != dAway) return (short) (dToward < dAway ? toward : away);
        return (short) ((toward & 1) == 0 ? toward : away);
    }

    private static boolean isHalfNaN(short bits, DType dtype) {
        return dtype == DType.BF16 ? Float.isNaN(Float.intBitsToFloat(bits << 16)) : Float.isNaN(Float.float16ToFloat(bits));
    }

    private static void assertHalfBits(short[] actual, float[] source, DType dtype) {
        assertThat(actual).hasSameSizeAs(source);
        for (int i = 0; i < source.length; i++) {
            String what = dtype + " of " + source[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(source[i])) + ")";
            if (Float.isNaN(source[i])) {
                // libtorch's vector and scalar paths pick different NaN payloads; NaN must stay NaN.
                assertThat(isHalfNaN(actual[i], dtype)).as(what).isTrue();
            } else {
                short expected = dtype == DType.BF16 ? bf16ByDistance(source[i]) : Float.floatToFloat16(source[i]);
                assertThat(Integer.toHexString(actual[i] & 0xFFFF)).as(what).isEqualTo(Integer.toHexString(expected & 0xFFFF));
            }
        }
    }

    @Test
    void bf16ReferenceAgreesWithTheBitTrickInRef() {
        for (float f : probeFloats(33)) {
            if (Float.isNaN(f)) continue;
            assertThat((double) Float.intBitsToFloat(bf16ByDistance(f) << 16)).as("bf16 of " + f).isEqualTo(Ref.bf16(f));
        }
    }

    @ParameterizedTest(name = "aten::_to_copy float32 → {0} is round-to-nearest-even, bit for bit")
    @EnumSource(names = {"BF16", "F16"})
    void toCopyFloat32ToHalf(DType dtype) {
        float[] source = probeFloats(34);
        try (TensorScope s = TensorScope.open()) {
            Tensor f32 = Tensor.of(source, source.length);
            Tensor half = Copies.toCopy(f32, dtype, Device.CPU);
            assertThat(half.dtype()).isEqualTo(dtype);
            assertHalfBits(half.toHalfBits(), source, dtype);
            // the same through a 2-d transposed source, which takes another copy loop
            Tensor transposed = Views.transpose(Tensor.of(source, 64, 64), 0, 1);
            float[] logical = transposed.toFloatArray();
            Tensor halfOfTransposed = Copies.toCopy(transposed, dtype, Device.CPU);
            assertThat(halfOfTransposed.isContiguous()).as("_to_copy makes a contiguous tensor").isTrue();
            assertHalfBits(halfOfTransposed.toHalfBits(), logical, dtype);
        }
    }

    @ParameterizedTest(name = "aten::_to_copy {0} → float32 is exact")
    @EnumSource(names = {"BF16", "F16"})
    void toCopyHalfToFloat32(DType dtype) {
        short[] bits = new short[1 << 16];
        for (int i = 0; i < bits.length; i++) bits[i] = (short) i;
        try (TensorScope s = TensorScope.open()) {
            float[] widened = Copies.toCopy(Tensor.ofHalfBits(bits, dtype, bits.length), DType.F32, Device.CPU).toFloatArray();
            for (int i = 0; i < bits.length; i++) {
                float expected = dtype == DType.BF16 ? Float.intBitsToFloat(i << 16) : Float.float16ToFloat(bits[i]);
                if (Float.isNaN(expected)) assertThat(widened[i]).as("NaN 0x%04x", i).isNaN();
                else assertThat(Float.floatToRawIntBits(widened[i])).as("%s 0x%04x", dtype, i).isEqualTo(Float.floatToRawIntBits(expected));
            }
        }
    }

    @Test
    void toCopyBetweenFloat32AndFloat64() {
        Random r = new Random(36);
        double[] d = new double[1000];
        for (int i = 0; i < d.length; i++) d[i] = r.nextGaussian() * Math.pow(2, r.nextInt(80) - 40);
        try (TensorScope s = TensorScope.open()) {
            float[] narrowed = Tensor.of(d, d.length).to(DType.F32).toFloatArray();
            for (int i = 0; i < d.length; i++) assertThat(narrowed[i]).as("(float) %s", d[i]).isEqualTo((float) d[i]);
            double[] widened = Tensor.of(narrowed, narrowed.length).to(DType.F64).toDoubleArray();
            for (int i = 0; i < d.length; i++) assertThat(widened[i]).isEqualTo((double) narrowed[i]);
        }
    }

    @Test
    void toCopyBetweenFloatsIntegersAndBool() {
        float[] f = {0f, -0f, 0.5f, -0.5f, 1.99f, -1.99f, 3e9f, 123456.7f, -7f, Float.MIN_VALUE};
        try (TensorScope s = TensorScope.open()) {
            Tensor t = Tensor.of(f, f.length);
            long[] asLong = t.to(DType.I64).toLongArray();
            boolean[] asBool = t.to(DType.BOOL).toBooleanArray();
            for (int i = 0; i < f.length; i++) {
                assertThat(asLong[i]).as("int64 of %s truncates toward zero", f[i]).isEqualTo((long) f[i]);
                assertThat(asBool[i]).as("bool of %s", f[i]).isEqualTo(f[i] != 0);
            }
            long[] big = {Long.MAX_VALUE, Long.MIN_VALUE, (1L << 24) + 1, -(1L << 53) - 1, 3};
            float[] bigAsFloat = Tensor.of(big, big.length).to(DType.F32).toFloatArray();
            for (int i = 0; i < big.length; i++) assertThat(bigAsFloat[i]).as("float of %s", big[i]).isEqualTo((float) big[i]);
            assertThat(Tensor.of(new boolean[]{true, false}, 2).to(DType.F32).toFloatArray()).containsExactly(1f, 0f);
        }
    }

    // ---------------------------------------------------------------- Java arrays in and out

    @Test
    void arraysRoundTripForEveryDType() {
        Random r = new Random(37);
        try (TensorScope s = TensorScope.open()) {
            float[] f = new float[24];
            double[] d = new double[24];
            long[] l = new long[24];
            int[] i32 = new int[24];
            boolean[] b = new boolean[24];
            short[] h = new short[24];
            int[] u8 = new int[24];
            for (int i = 0; i < 24; i++) {
                f[i] = (float) r.nextGaussian();
                d[i] = r.nextGaussian();
                l[i] = r.nextLong();
                i32[i] = r.nextInt();
                b[i] = r.nextBoolean();
                h[i] = (short) (r.nextInt(0x7F00) | (r.nextBoolean() ? 0x8000 : 0)); // finite as bf16
                u8[i] = r.nextInt(256);
            }
            l[0] = Long.MIN_VALUE;
            l[1] = Long.MAX_VALUE;
            i32[0] = Integer.MIN_VALUE;

            assertMetadata(Tensor.of(f, 4, 6), DType.F32, 4, 6);
            assertThat(Tensor.of(f, 4, 6).toFloatArray()).containsExactly(f);
            assertThat(Tensor.of(d, 2, 3, 4).toDoubleArray()).containsExactly(d);
            assertThat(Tensor.of(l, 24).toLongArray()).containsExactly(l);
            assertThat(Tensor.of(i32, 6, 4).toIntArray()).containsExactly(i32);
            assertThat(Tensor.of(b, 3, 8).toBooleanArray()).containsExactly(b);
            assertThat(Tensor.ofHalfBits(h, DType.BF16, 4, 6).toHalfBits()).containsExactly(h);
            assertThat(Tensor.ofHalfBits(h, DType.F16, 4, 6).toHalfBits()).containsExactly(h);
            Tensor bytes = Tensor.of(u8, 24).to(DType.U8);
            assertThat(bytes.dtype()).isEqualTo(DType.U8);
            assertThat(bytes.toIntArray()).containsExactly(u8);

            assertMetadata(Tensor.of(d, 2, 3, 4), DType.F64, 2, 3, 4);
            assertMetadata(Tensor.of(l, 24), DType.I64, 24);
            assertMetadata(Tensor.of(i32, 6, 4), DType.I32, 6, 4);
            assertMetadata(Tensor.of(b, 3, 8), DType.BOOL, 3, 8);
            assertMetadata(Tensor.ofHalfBits(h, DType.BF16, 4, 6), DType.BF16, 4, 6);
            assertMetadata(Tensor.ofHalfBits(h, DType.F16, 24), DType.F16, 24);

            // reading converts: ints as doubles, bf16 bits as floats
            double[] intsAsDoubles = Tensor.of(i32, 24).toDoubleArray();
            for (int i = 0; i < 24; i++) assertThat(intsAsDoubles[i]).isEqualTo((double) i32[i]);
            float[] bf16AsFloats = Tensor.ofHalfBits(h, DType.BF16, 24).toFloatArray();
            for (int i = 0; i < 24; i++) assertThat(bf16AsFloats[i]).isEqualTo(Float.intBitsToFloat(h[i] << 16));
        }
    }

    private static void assertMetadata(Tensor t, DType dtype, long... shape) {
        assertThat(t.dtype()).isEqualTo(dtype);
        assertThat(t.shape()).containsExactly(shape);
        assertThat(t.isContiguous()).isTrue();
        assertThat(t.device()).isEqualTo(Device.CPU);
    }

    @Test
    void arraysOfTheWrongLengthAreRefused() {
        assertThatThrownBy(() -> Tensor.of(new float[5], 2, 3)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "toFloatArray of a non-contiguous {0} tensor reads in logical order")
    @EnumSource(names = {"F32", "BF16"})
    void readingNonContiguousTensors(DType dtype) {
        for (Layout layout : new Layout[]{Layout.TRANSPOSED, Layout.STRIDED}) {
            try (TensorScope s = TensorScope.open()) {
                Input x = input(Ref.randn(38, 1, 4, 6), dtype, layout);
                float[] read = x.tensor().toFloatArray();
                for (int i = 0; i < read.length; i++) assertThat((double) read[i]).as("element %d of %s", i, layout).isEqualTo(x.values().data[i]);
            }
        }
    }

    @Test
    void wrapIsZeroCopyBothWays() {
        try (Arena arena = Arena.ofConfined(); TensorScope s = TensorScope.open()) {
            MemorySegment memory = arena.allocate(ValueLayout.JAVA_FLOAT, 24);
            for (int i = 0; i < 24; i++) memory.setAtIndex(ValueLayout.JAVA_FLOAT, i, i * 0.5f);
            Tensor t = Tensor.wrap(memory, DType.F32, 4, 6);
            assertThat(t.dataSegment().address()).isEqualTo(memory.address());
            assertThat(t.toFloatArray()[7]).isEqualTo(3.5f);

            memory.setAtIndex(ValueLayout.JAVA_FLOAT, 7, -42f);
            assertThat(t.toFloatArray()[7]).as("a write to the segment is seen by the tensor").isEqualTo(-42f);

            Copies.fill(Views.select(Views.transpose(t, 0, 1), 0, 2), 9f); // column 2
            for (int r = 0; r < 4; r++) assertThat(memory.getAtIndex(ValueLayout.JAVA_FLOAT, r * 6 + 2)).isEqualTo(9f);
            try (TensorScope inner = TensorScope.open()) {
                InPlace.mulInPlace(t, Tensor.full(2, DType.F32, Device.CPU));
            }
            assertThat(memory.getAtIndex(ValueLayout.JAVA_FLOAT, 7)).as("an in-place op writes the segment").isEqualTo(-84f);
        }
    }

    @Test
    void wrappedTensorsAndTheirViewsRefuseUseAfterTheArenaCloses() {
        try (TensorScope s = TensorScope.open()) {
            Tensor t, v;
            try (Arena arena = Arena.ofConfined()) {
                t = Tensor.wrap(arena.allocate(ValueLayout.JAVA_FLOAT, 24), DType.F32, 4, 6);
                v = Views.transpose(t, 0, 1);
            }
            assertThatThrownBy(t::toFloatArray).isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(v::toFloatArray).isInstanceOf(IllegalStateException.class);
        }
    }
}
