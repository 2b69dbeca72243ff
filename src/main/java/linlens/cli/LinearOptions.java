package linlens.cli;

import linlens.linear.Precision;
import linlens.model.MlpPath;
import picocli.CommandLine.Option;

/** How the detached linear system is computed: shared by the commands that build one. */
public final class LinearOptions {
    @Option(names = "--precision", defaultValue = "fp32", converter = Converters.PrecisionConverter.class,
            description = "fp32 or fp64 (default: ${DEFAULT-VALUE}).")
    public Precision precision;

    @Option(names = "--mlp-path", defaultValue = "up", converter = Converters.MlpPathConverter.class,
            description = "Linear path of a gated MLP: up (freeze act(gate)) or gate (default: ${DEFAULT-VALUE}).")
    public MlpPath mlpPath;
}
