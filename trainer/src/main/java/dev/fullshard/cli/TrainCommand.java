package dev.fullshard.cli;

import dev.fullshard.train.ConfigException;
import dev.fullshard.train.StopRequest;
import dev.fullshard.train.TrainConfig;
import dev.fullshard.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code fullshard train train.yaml [key.sub=value ...]}: one training process. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = {"Fine-tune every parameter of a Hugging Face model as train.yaml says (one process).",
                "Exit codes: 0 done, 1 failed, 2 bad configuration, 128 + signal number (130 SIGINT, 143 SIGTERM, 129 SIGHUP, 138 SIGUSR1) when a signal stopped it after saving a checkpoint."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "train.yaml", description = "The run's configuration (every key: docs/config.md).")
    Path config;

    @Parameters(index = "1..*", paramLabel = "key.sub=value", description = "Overrides of train.yaml keys, e.g. optimizer.lr=1e-4.")
    List<String> overrides = List.of();

    @Override
    public Integer call() throws Exception {
        TrainConfig train;
        try {
            train = TrainConfig.load(config, overrides);
        } catch (ConfigException e) {
            spec.commandLine().getErr().println(e.getMessage());
            return 2;
        }
        Trainer.Result result = Trainer.run(train, StopRequest.install(), spec.commandLine().getOut());
        if (result.stoppedBy() == null) return 0;
        return switch (result.stoppedBy()) {
            case "SIGINT" -> 130;
            case "SIGHUP" -> 129;
            case "SIGUSR1" -> 138;
            default -> 143;
        };
    }
}
