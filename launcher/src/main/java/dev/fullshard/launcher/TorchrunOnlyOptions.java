package dev.fullshard.launcher;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.util.ArrayList;
import java.util.List;

/**
 * torchrun options that mean nothing to this launcher. They are accepted, so that existing sbatch scripts run
 * unchanged, and each one given is noted in one line.
 */
final class TorchrunOnlyOptions {
    private record Ignored(String name, boolean takesValue, String why) {
        /** torchrun accepts every option with dashes or underscores. */
        String[] names() {
            String underscored = "--" + name.substring(2).replace('-', '_');
            return underscored.equals(name) ? new String[] {name} : new String[] {name, underscored};
        }
    }

    private static final List<Ignored> OPTIONS = List.of(
            new Ignored("--rdzv-conf", true, "the master launcher is the rendezvous and has no settings"),
            new Ignored("--start-method", true, "ranks are always started as new processes"),
            new Ignored("--role", true, "every rank has the same role"),
            new Ignored("--local-addr", true, "the master is reached at --master-addr"),
            new Ignored("--logs-specs", true, "logs go to --log-dir"),
            new Ignored("--event-log-handler", true, "there is no event log"),
            new Ignored("--numa-binding", true, "ranks are not bound to NUMA nodes"),
            new Ignored("--run-path", false, "there is no Python script to run"),
            new Ignored("--virtual-local-rank", false, "each rank sees its own LOCAL_RANK"));

    private TorchrunOnlyOptions() {
    }

    static void addTo(CommandSpec spec) {
        for (Ignored o : OPTIONS) {
            spec.addOption(OptionSpec.builder(o.names()).arity(o.takesValue() ? "1" : "0")
                    .type(o.takesValue() ? String.class : boolean.class)
                    .description("torchrun's; accepted and ignored (" + o.why() + ").").build());
        }
    }

    /** One line for each ignored option on the command line. */
    static List<String> notes(ParseResult given) {
        List<String> notes = new ArrayList<>();
        for (Ignored o : OPTIONS) {
            if (!given.hasMatchedOption(o.name())) continue;
            Object value = given.matchedOptionValue(o.name(), null);
            notes.add("launcher: ignoring torchrun's " + o.name() + (o.takesValue() ? " " + value : "") + ": " + o.why());
        }
        return notes;
    }
}
