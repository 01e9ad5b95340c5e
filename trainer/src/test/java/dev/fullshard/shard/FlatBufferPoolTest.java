package dev.fullshard.shard;

import dev.fullshard.bindings.TorchLibrary;
import dev.fullshard.tensor.DType;
import dev.fullshard.tensor.Device;
import dev.fullshard.tensor.NoLeakedTensors;
import dev.fullshard.tensor.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.assertj.core.api.Assertions.assertThat;

@ExtendWith(NoLeakedTensors.class)
class FlatBufferPoolTest {
    @BeforeAll
    static void load() {
        TorchLibrary.load();
    }

    @Test
    void aBufferGivenBackIsTakenAgainOnlyForTheSameDtypeAndSize() {
        try (FlatBufferPool pool = new FlatBufferPool(Device.CPU)) {
            Tensor first = pool.take(DType.F32, 1000);
            long address = first.dataPointer().address();
            pool.give(first);

            Tensor otherSize = pool.take(DType.F32, 999);
            Tensor otherDtype = pool.take(DType.BF16, 1000);
            Tensor same = pool.take(DType.F32, 1000);
            Tensor fresh = pool.take(DType.F32, 1000);

            assertThat(same.dataPointer().address()).isEqualTo(address);
            assertThat(same.shape()).containsExactly(1000L);
            assertThat(otherSize.dataPointer().address()).isNotEqualTo(address);
            assertThat(otherDtype.dataPointer().address()).isNotEqualTo(address);
            assertThat(fresh.dataPointer().address()).isNotEqualTo(address);
            for (Tensor t : new Tensor[]{otherSize, otherDtype, same, fresh}) pool.give(t);
        } // closing the pool frees what it holds: NoLeakedTensors checks the handles
    }
}
