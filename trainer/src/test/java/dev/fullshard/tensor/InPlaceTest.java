package dev.fullshard.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.fullshard.tensor.LayerRef.assertClose;
import static dev.fullshard.tensor.LayerRef.randn;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The in-place accumulation ops the model's backward pass writes gradients with (accumulate,
 * index_put_ with accumulate, exp_), and the autograd oracle the model tests use, against Java
 * double references.
 */
@ExtendWith(NoLeakedTensors.class)
class InPlaceTest {
    @ParameterizedTest
    @CsvSource({"F32, F32", "F32, BF16", "BF16, BF16", "F64, F64", "F64, F32"})
    void accumulateAddsInPlaceWithoutChangingTheBuffer(DType dst, DType src) {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(1, 1, dst, 3, 5);
            var b = randn(2, 1, src, 3, 5);
            Tensor buffer = a.tensor();
            long address = buffer.dataSegment().address();
            InPlace.accumulate(buffer, b.tensor(), -0.5);
            Ref expected = RefMath.zip(a.values(), b.values(), (x, y) -> Ref.round(x - 0.5 * y, dst));
            assertThat(buffer.dtype()).isEqualTo(dst);
            assertThat(buffer.dataSegment().address()).as("same storage").isEqualTo(address);
            // One rounding to dst's dtype of the exactly computed sum (bf16: within one ulp of it).
            assertClose(buffer, expected, dst == DType.BF16 ? 4e-3 : 1e-6, dst == DType.BF16 ? 8e-3 : 1e-6, "accumulate " + src + " into " + dst);
        }
    }

    @Test
    void accumulateBroadcastsTheSource() {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(3, 1, DType.F64, 4, 3);
            var row = randn(4, 1, DType.F64, 1, 3);
            InPlace.accumulate(a.tensor(), row.tensor());
            InPlace.accumulate(a.tensor(), Tensor.scalar(2.0));
            Ref expected = RefMath.zip(a.values(), row.values(), (x, y) -> x + y + 2);
            Ref.assertClose(a.tensor(), expected, 1e-15, 1e-15, "accumulate broadcast");
            assertThatThrownBy(() -> InPlace.accumulate(row.tensor(), a.tensor())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("accumulate");
        }
    }

    @Test
    void indexPutAccumulatesRepeatedRows() {
        try (TensorScope s = TensorScope.open()) {
            var table = randn(5, 1, DType.F32, 6, 3);
            var values = randn(6, 1, DType.F32, 4, 3);
            long[] rows = {2, 0, 2, 5};
            InPlace.indexPut(table.tensor(), new Tensor[]{Tensor.of(rows, 4)}, values.tensor(), true);
            Ref expected = RefMath.copy(table.values());
            for (int i = 0; i < rows.length; i++) {
                for (int j = 0; j < 3; j++) expected.set(expected.get(rows[i], j) + values.values().get(i, j), rows[i], j);
            }
            assertClose(table.tensor(), expected, 1e-6, 1e-6, "index_put_ accumulate");
            // Two index tensors address single elements.
            Tensor m = Tensor.zeros(DType.F64, Device.CPU, 2, 3);
            InPlace.indexPut(m, new Tensor[]{Tensor.of(new long[]{1, 1, 0}, 3), Tensor.of(new long[]{2, 2, 0}, 3)},
                    Tensor.of(new double[]{1, 2, 4}, 3), true);
            Ref.assertExact(m, new Ref(new long[]{2, 3}, new double[]{4, 0, 0, 0, 0, 3}), "index_put_ accumulate by element");
        }
    }

    @Test
    void expInPlace() {
        try (TensorScope s = TensorScope.open()) {
            var a = randn(7, 1, DType.F64, 2, 3);
            InPlace.expInPlace(a.tensor());
            Ref.assertClose(a.tensor(), a.values().map(Math::exp), 1e-15, 1e-15, "exp_");
        }
    }

    @Test
    void autogradOracleAccumulatesIntoItsOwnBuffers() {
        try (TensorScope s = TensorScope.open()) {
            var x = randn(8, 1, DType.F64, 3, 4);
            var w = randn(9, 1, DType.F64, 4, 2);
            Tensor gx, gw;
            boolean before = GradMode.isEnabled();
            try (AutogradOracle oracle = AutogradOracle.open()) {
                Tensor xl = oracle.leaf(x.tensor()), wl = oracle.leaf(w.tensor());
                // L = Σ silu(x·w)
                oracle.backward(Reductions.sum(Elementwise.silu(Matmul.mm(xl, wl))));
                gx = oracle.grad(xl);
                gw = oracle.grad(wl);
            }
            assertThat(GradMode.isEnabled()).as("grad mode restored").isEqualTo(before);
            Ref y = LayerRef.matmul(x.values(), w.values());
            Ref dy = y.map(v -> RefMath.sigmoid(v) * (1 + v * (1 - RefMath.sigmoid(v))));
            Ref.assertClose(gx, LayerRef.matmul(dy, w.values().transpose(0, 1)), 1e-14, 1e-14, "oracle dL/dx");
            Ref.assertClose(gw, LayerRef.matmul(x.values().transpose(0, 1), dy), 1e-14, 1e-14, "oracle dL/dw");
        }
    }
}
