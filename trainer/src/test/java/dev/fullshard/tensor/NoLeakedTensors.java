package dev.fullshard.tensor;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fails a test that leaves more tensor handles open than it found: every test closes what it made
 * (through its scope), so an op that leaked a handle shows up here. Use with
 * {@code @ExtendWith(NoLeakedTensors.class)}.
 */
public final class NoLeakedTensors implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(NoLeakedTensors.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NAMESPACE).put("live", Tensor.liveCount());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        long before = context.getStore(NAMESPACE).get("live", Long.class);
        assertThat(Tensor.liveCount()).as("tensor handles left open by %s", context.getDisplayName()).isEqualTo(before);
    }
}
