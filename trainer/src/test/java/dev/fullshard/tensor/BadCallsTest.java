package dev.fullshard.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Wrong calls fail with a Java exception that says what was wrong, never with a crash or a leak:
 * mistakes Java can see are caught before libtorch is called (IllegalArgumentException /
 * IllegalStateException); what only libtorch rejects comes back as a {@link TorchException} carrying
 * the operator, the inputs and libtorch's own message.
 */
class BadCallsTest {
    private TensorScope scope;
    private long liveAtStart;

    @BeforeEach
    void openScope() {
        liveAtStart = Tensor.liveCount();
        scope = TensorScope.open();
    }

    @AfterEach
    void nothingLeaked() {
        scope.close();
        assertThat(Tensor.liveCount()).as("tensors left alive by the failed calls").isEqualTo(liveAtStart);
    }

    private static Tensor f32(long... shape) {
        return Tensor.zeros(DType.F32, Device.CPU, shape);
    }

    // ================================================================ caught in Java

    @Test
    void mmWithMismatchedShapesNamesBothShapes() {
        Tensor a = f32(2, 3), b = f32(4, 5);
        assertThatThrownBy(() -> Matmul.mm(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mm").hasMessageContaining("[2, 3] float32 cpu").hasMessageContaining("[4, 5] float32 cpu");
        Tensor c = f32(2, 3, 4);
        assertThatThrownBy(() -> Matmul.mm(c, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 3, 4]").hasMessageContaining("[4, 5]");
    }

    @Test
    void bmmWithMismatchedShapesNamesBothShapes() {
        Tensor a = f32(2, 3, 4);
        Tensor otherBatch = f32(3, 4, 5), otherInner = f32(2, 5, 6);
        assertThatThrownBy(() -> Matmul.bmm(a, otherBatch)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bmm").hasMessageContaining("[2, 3, 4]").hasMessageContaining("[3, 4, 5]");
        assertThatThrownBy(() -> Matmul.bmm(a, otherInner)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bmm").hasMessageContaining("[2, 3, 4]").hasMessageContaining("[2, 5, 6]");
    }

    @Test
    void elementwiseOpsWithShapesThatDoNotBroadcastNameTheOpAndBothShapes() {
        Tensor a = f32(2, 3), b = f32(4, 5);
        assertThatThrownBy(() -> Elementwise.add(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("add:").hasMessageContaining("[2, 3] float32 cpu").hasMessageContaining("[4, 5] float32 cpu");
        assertThatThrownBy(() -> Elementwise.add(a, b, 0.5)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("add:");
        assertThatThrownBy(() -> Elementwise.sub(a, b)).isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("sub:");
        assertThatThrownBy(() -> Elementwise.mul(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("mul:").hasMessageContaining("[2, 3]").hasMessageContaining("[4, 5]");
    }

    @Test
    void mmWithDifferentDtypesNamesBothDtypes() {
        Tensor a = f32(2, 3), b = Tensor.zeros(DType.F64, Device.CPU, 3, 4);
        assertThatThrownBy(() -> Matmul.mm(a, b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("mm").hasMessageContaining("dtypes differ")
                .hasMessageContaining("[2, 3] float32 cpu").hasMessageContaining("[3, 4] float64 cpu");
    }

    @Test
    void usingAClosedTensorThrowsIllegalStateException() {
        Tensor open = f32(2, 2);
        Tensor closed = f32(2, 2);
        closed.close();
        Tensor fresh = f32(3);
        fresh.close(); // closed before its shape was ever read

        for (Tensor t : new Tensor[]{closed, fresh}) {
            assertThatThrownBy(() -> Elementwise.mul(open, t)).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
            assertThatThrownBy(() -> Elementwise.add(open, t)).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
            assertThatThrownBy(() -> Copies.cat(0, open, t)).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
            assertThatThrownBy(t::toFloatArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
            assertThatThrownBy(() -> t.view(-1)).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
            assertThatThrownBy(t::dataSegment).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
        }
        assertThatThrownBy(fresh::shape).isInstanceOf(IllegalStateException.class).hasMessageContaining("after close");
        assertThat(closed.describe()).isEqualTo("<closed tensor>");
        closed.close(); // closing again is allowed and does nothing
        assertThat(Elementwise.mul(open, open).toFloatArray()).containsExactly(0f, 0f, 0f, 0f);
    }

    @Test
    void embeddingWithFloatIndicesIsRejected() {
        Tensor weight = f32(10, 4);
        Tensor floatIndices = Tensor.of(new float[]{1, 2, 3}, 3);
        assertThatThrownBy(() -> Layers.embedding(weight, floatIndices)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embedding").hasMessageContaining("int64 or int32").hasMessageContaining("[3] float32 cpu");
        Tensor longIndices = Tensor.of(new long[]{1, 2, 3}, 3);
        assertThat(Layers.embedding(weight, longIndices).shape()).containsExactly(3, 4);
    }

    // ================================================================ only libtorch knows

    @Test
    void logSoftmaxOfAnIntegerTensorFailsInLibtorchWithItsMessage() {
        Tensor ints = Tensor.of(new long[]{1, 2, 3, 4, 5, 6}, 2, 3);
        TorchException e = catchThrowableOfType(TorchException.class, () -> Layers.logSoftmax(ints, 1));
        assertThat(e).as("aten::_log_softmax on int64 must fail in libtorch").isNotNull();
        assertThat(e.operator()).isEqualTo("aten::_log_softmax");
        assertThat(e.getMessage()).contains("aten::_log_softmax").contains("[2, 3] int64 cpu");
        assertThat(e.libtorchMessage()).as("libtorch's own text").contains("not implemented for 'Long'");
        assertThat(e.getMessage()).contains(e.libtorchMessage());
    }

    @Test
    void catOfTensorsDifferingOutsideTheCatDimensionFailsInLibtorchWithItsMessage() {
        Tensor a = f32(2, 3), b = f32(2, 4);
        TorchException e = catchThrowableOfType(TorchException.class, () -> Copies.cat(0, a, b));
        assertThat(e).as("aten::cat of [2, 3] and [2, 4] along 0 must fail in libtorch").isNotNull();
        assertThat(e.operator()).isEqualTo("aten::cat");
        assertThat(e.getMessage()).contains("[2, 3] float32 cpu").contains("[2, 4] float32 cpu");
        assertThat(e.libtorchMessage()).contains("Sizes of tensors must match except in dimension 0");
        assertThat(e.getMessage()).contains(e.libtorchMessage());
    }

    @Test
    void aShimOpRejectedByLibtorchReportsLikeADispatcherOp() {
        Tensor bools = Tensor.of(new boolean[]{true, false}, 2);
        TorchException e = catchThrowableOfType(TorchException.class, () -> Elementwise.sub(bools, bools));
        assertThat(e).as("subtracting bool tensors must fail in libtorch").isNotNull();
        assertThat(e.operator()).isEqualTo("aten::subtract.Tensor");
        assertThat(e.getMessage()).contains("[2] bool cpu");
        assertThat(e.libtorchMessage()).contains("with two bool tensors is not supported");
        assertThat(e.getMessage()).contains(e.libtorchMessage());
    }

    @Test
    void afterThousandsOfFailuresEveryMessageIsItsOwnAndOpsStillWork() {
        Tensor a = f32(2, 3), b = f32(2, 4), ints = Tensor.of(new long[]{1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor bools = Tensor.of(new boolean[]{true, false}, 2);
        long live = Tensor.liveCount();
        for (int i = 0; i < 1_200; i++) {
            switch (i % 4) {
                case 0 -> assertThat(catchThrowableOfType(TorchException.class, () -> Copies.cat(0, a, b)).libtorchMessage())
                        .as("failure %d", i).contains("Sizes of tensors must match").doesNotContain("Long");
                case 1 -> assertThat(catchThrowableOfType(TorchException.class, () -> Layers.logSoftmax(ints, 1)).libtorchMessage())
                        .as("failure %d", i).contains("not implemented for 'Long'").doesNotContain("Sizes of tensors");
                case 2 -> assertThat(catchThrowableOfType(TorchException.class, () -> Elementwise.sub(bools, bools)).libtorchMessage())
                        .as("failure %d", i).contains("two bool tensors").doesNotContain("Sizes of tensors").doesNotContain("Long");
                default -> assertThatThrownBy(() -> Matmul.mm(a, b)).isInstanceOf(IllegalArgumentException.class);
            }
        }
        assertThat(Tensor.liveCount()).as("live tensors after 1,200 failed calls").isEqualTo(live);

        // a normal op still gives the right answer
        Tensor x = Tensor.of(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor y = Tensor.of(new float[]{1, 0, 0, 1, 1, 1}, 3, 2);
        assertThat(Matmul.mm(x, y).toFloatArray()).containsExactly(4f, 5f, 10f, 11f);
        assertThat(Copies.cat(1, a, b).shape()).containsExactly(2, 7);
    }
}
