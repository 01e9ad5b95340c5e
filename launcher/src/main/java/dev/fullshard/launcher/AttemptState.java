package dev.fullshard.launcher;

/**
 * Where one attempt of the gang stands: INIT → RUNNING → SUCCEEDED, FAILED or STOPPED (by a signal to the
 * launcher). FAILED is the one outcome the launcher may answer with a restart: a new attempt, from INIT.
 */
enum AttemptState {
    INIT, RUNNING, SUCCEEDED, FAILED, STOPPED;

    boolean canMoveTo(AttemptState next) {
        return switch (this) {
            case INIT -> next == RUNNING;
            case RUNNING -> next.isFinal();
            case SUCCEEDED, FAILED, STOPPED -> false;
        };
    }

    /** {@code next}, when this state may move there; a move the state machine does not allow is a bug. */
    AttemptState moveTo(AttemptState next) {
        if (!canMoveTo(next)) throw new IllegalStateException("an attempt cannot move from " + this + " to " + next);
        return next;
    }

    boolean isFinal() { return this == SUCCEEDED || this == FAILED || this == STOPPED; }
}
