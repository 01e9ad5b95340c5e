package dev.fullshard.launcher;

import java.util.Map;

/** Something a launcher's loop reacts to, from its own threads: the master's {@link Attempt}, or a {@link NodeAgent}. */
sealed interface Event {
    /** This node's ranks of the attempt are done. */
    record LocalDone(WorkerGroup.Outcome outcome) implements Event { }

    /** A node launcher reported its ranks of {@code attempt} done; {@code failure} null when all exited 0. */
    record NodeDone(int node, int attempt, Failure failure) implements Event { }

    /** A node launcher's connection ended, or it fell silent; {@code why} names it and says when it was last heard from. */
    record NodeLost(int node, String host, String why) implements Event { }

    /** The launcher got a signal (short name, e.g. {@code TERM}): forward it to the ranks, then stop. */
    record Signal(String signal) implements Event { }

    /** On a node launcher: a message from the master. */
    record FromMaster(NodeMessage message) implements Event { }

    /** On a node launcher: the connection to the master is gone, or the master fell silent ({@code why}). */
    record MasterLost(String why) implements Event { }
}
