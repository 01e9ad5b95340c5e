package dev.fullshard.tensor;

import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.fullshard.tensor.LayerRef.assertClose;
import static dev.fullshard.tensor.LayerRef.matmul;
import static dev.fullshard.tensor.LayerRef.randn;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * aten::mm, aten::bmm and aten::matmul against a double-precision Java product of the values the
 * input tensors really hold, in float32 and bfloat16 (libtorch accumulates bf16 products in float32
 * and rounds the result once, so the bf16 tolerance covers it), with contiguous and strided inputs.
 */
@ExtendWith(NoLeakedTensors.class)
class MatmulTest {
    // ---------------------------------------------------------------- aten::mm

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void mmContiguous(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(1, 1, dtype, 5, 7);
            var b = randn(2, 1, dtype, 7, 6);
            assertClose(Matmul.mm(a.tensor(), b.tensor()), matmul(a.values(), b.values()), dtype, "aten::mm");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void mmWithTransposedOperands(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // Both operands are transposed views (column-major), the layout of mm(x, w.transpose(0, 1)).
            var aBase = randn(3, 1, dtype, 7, 5);
            var bBase = randn(4, 1, dtype, 6, 7);
            Tensor a = aBase.tensor().transpose(0, 1), b = bBase.tensor().transpose(0, 1);
            assertThat(a.isContiguous()).isFalse();
            assertThat(b.isContiguous()).isFalse();
            // The expected product transposes the base values in Java, so the view itself is checked too.
            assertClose(Matmul.mm(a, b), matmul(aBase.values().transpose(0, 1), bBase.values().transpose(0, 1)), dtype,
                    "aten::mm(aᵀ, bᵀ)");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void mmWithSteppedRowSlice(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // Every other row: a row stride of twice the row length, which no BLAS "lda" of the base fits.
            var aBase = randn(5, 1, dtype, 10, 7);
            var b = randn(6, 1, dtype, 7, 3);
            Tensor a = aBase.tensor().slice(0, 0, 10, 2);
            Ref expectedA = Ref.zeros(5, 7);
            for (int i = 0; i < 5; i++) for (int j = 0; j < 7; j++) expectedA.set(aBase.values().get(2L * i, j), i, j);
            assertClose(Matmul.mm(a, b.tensor()), matmul(expectedA, b.values()), dtype, "aten::mm(a[::2], b)");
        }
    }

    // ---------------------------------------------------------------- aten::bmm

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void bmmContiguous(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(7, 1, dtype, 3, 4, 5);
            var b = randn(8, 1, dtype, 3, 5, 6);
            assertClose(Matmul.bmm(a.tensor(), b.tensor()), matmul(a.values(), b.values()), dtype, "aten::bmm");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void bmmWithTransposedSecondOperand(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // q·kᵀ in attention: the second operand is a transposed view of the last two dimensions.
            var a = randn(9, 1, dtype, 3, 4, 5);
            var bBase = randn(10, 1, dtype, 3, 6, 5);
            Tensor b = bBase.tensor().transpose(1, 2);
            assertClose(Matmul.bmm(a.tensor(), b), matmul(a.values(), bBase.values().transpose(1, 2)), dtype, "aten::bmm(a, bᵀ)");
        }
    }

    // ---------------------------------------------------------------- aten::matmul

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmul2dBy2d(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(11, 1, dtype, 4, 6);
            var b = randn(12, 1, dtype, 6, 3);
            assertClose(Matmul.matmul(a.tensor(), b.tensor()), matmul(a.values(), b.values()), dtype, "aten::matmul 2D·2D");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmulBatched3dBy2dBroadcastsTheMatrix(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // Activations (B, L, D) times a weight (D, F): the weight is shared by every batch entry.
            var a = randn(13, 1, dtype, 3, 4, 5);
            var w = randn(14, 1, dtype, 5, 6);
            Tensor result = Matmul.matmul(a.tensor(), w.tensor());
            assertThat(result.shape()).containsExactly(3, 4, 6);
            assertClose(result, matmul(a.values(), w.values()), dtype, "aten::matmul 3D·2D");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmulBatched3dByTransposedWeight(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // x · Wᵀ with W stored (out, in), as a linear layer does.
            var a = randn(15, 1, dtype, 2, 3, 5);
            var wBase = randn(16, 1, dtype, 4, 5);
            assertClose(Matmul.matmul(a.tensor(), wBase.tensor().transpose(0, 1)), matmul(a.values(), wBase.values().transpose(0, 1)),
                    dtype, "aten::matmul 3D·(2D)ᵀ");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmulBroadcastsBatchDimensionsOfBothSides(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(17, 1, dtype, 2, 1, 4, 5);
            var b = randn(18, 1, dtype, 3, 5, 2);
            Tensor result = Matmul.matmul(a.tensor(), b.tensor());
            assertThat(result.shape()).containsExactly(2, 3, 4, 2);
            assertClose(result, matmul(a.values(), b.values()), dtype, "aten::matmul (2,1,4,5)·(3,5,2)");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmul2dBy3dBroadcastsTheLeftMatrix(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(19, 1, dtype, 4, 5);
            var b = randn(20, 1, dtype, 3, 5, 2);
            assertClose(Matmul.matmul(a.tensor(), b.tensor()), matmul(a.values(), b.values()), dtype, "aten::matmul 2D·3D");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmulVectorCases(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            var v5 = randn(21, 1, dtype, 5);
            var w5 = randn(22, 1, dtype, 5);
            var m = randn(23, 1, dtype, 5, 3);
            var n = randn(24, 1, dtype, 4, 5);
            var batch = randn(25, 1, dtype, 2, 4, 5);

            Tensor dot = Matmul.matmul(v5.tensor(), w5.tensor());
            assertThat(dot.dim()).as("1-D·1-D is a 0-dim dot product").isZero();
            assertClose(dot, matmul(v5.values(), w5.values()), dtype, "aten::matmul 1D·1D");

            Tensor vm = Matmul.matmul(v5.tensor(), m.tensor());
            assertThat(vm.shape()).containsExactly(3);
            assertClose(vm, matmul(v5.values(), m.values()), dtype, "aten::matmul 1D·2D");

            Tensor mv = Matmul.matmul(n.tensor(), v5.tensor());
            assertThat(mv.shape()).containsExactly(4);
            assertClose(mv, matmul(n.values(), v5.values()), dtype, "aten::matmul 2D·1D");

            Tensor bv = Matmul.matmul(batch.tensor(), v5.tensor());
            assertThat(bv.shape()).containsExactly(2, 4);
            assertClose(bv, matmul(batch.values(), v5.values()), dtype, "aten::matmul 3D·1D");
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16"})
    void matmulVectorFromAStridedColumn(DType dtype) {
        try (TensorScope s = TensorScope.open()) {
            // A column of a matrix is a 1-D view with stride > 1.
            var base = randn(26, 1, dtype, 5, 3);
            var m = randn(27, 1, dtype, 4, 5);
            Tensor column = Views.select(base.tensor(), 1, 2);
            Ref expectedColumn = Ref.zeros(5);
            for (int i = 0; i < 5; i++) expectedColumn.set(base.values().get(i, 2), i);
            assertClose(Matmul.matmul(m.tensor(), column), matmul(m.values(), expectedColumn), dtype, "aten::matmul 2D·(strided 1D)");
        }
    }
}
