package dev.fullshard.launcher;

import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.fullshard.launcher.AttemptState.FAILED;
import static dev.fullshard.launcher.AttemptState.INIT;
import static dev.fullshard.launcher.AttemptState.RUNNING;
import static dev.fullshard.launcher.AttemptState.STOPPED;
import static dev.fullshard.launcher.AttemptState.SUCCEEDED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AttemptStateTest {
    @Test
    void anAttemptStartsRunsAndEndsOnce() {
        assertThat(INIT.moveTo(RUNNING)).isEqualTo(RUNNING);
        for (AttemptState end : List.of(SUCCEEDED, FAILED, STOPPED)) assertThat(RUNNING.moveTo(end)).isEqualTo(end);
    }

    @Test
    void noOtherMoveIsAllowed() {
        assertThatThrownBy(() -> INIT.moveTo(SUCCEEDED)).isInstanceOf(IllegalStateException.class)
                .hasMessage("an attempt cannot move from INIT to SUCCEEDED");
        assertThatThrownBy(() -> RUNNING.moveTo(INIT)).isInstanceOf(IllegalStateException.class);
        for (AttemptState end : List.of(SUCCEEDED, FAILED, STOPPED)) {
            for (AttemptState next : AttemptState.values()) assertThat(end.canMoveTo(next)).as(end + " -> " + next).isFalse();
        }
    }

    @Test
    void aResultNeedsAFinalState() {
        assertThatThrownBy(() -> new AttemptResult(0, RUNNING, List.of(), null, null)).isInstanceOf(IllegalArgumentException.class);
    }
}
