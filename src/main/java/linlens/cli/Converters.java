package linlens.cli;

import linlens.linear.Precision;
import linlens.linear.Site;
import linlens.model.MlpPath;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Option values shared by the commands. */
final class Converters {
    private Converters() {}

    static final class PrecisionConverter implements ITypeConverter<Precision> {
        public Precision convert(String v) {
            return switch (v.toLowerCase()) {
                case "fp32", "float32", "f32" -> Precision.FP32;
                case "fp64", "float64", "f64" -> Precision.FP64;
                default -> throw new TypeConversionException("expected fp32 or fp64, got '" + v + "'");
            };
        }
    }

    static final class MlpPathConverter implements ITypeConverter<MlpPath> {
        public MlpPath convert(String v) {
            return switch (v.toLowerCase()) {
                case "up" -> MlpPath.UP;
                case "gate" -> MlpPath.GATE;
                default -> throw new TypeConversionException("expected up or gate, got '" + v + "'");
            };
        }
    }

    static final class SiteConverter implements ITypeConverter<Site> {
        public Site convert(String v) {
            try {
                return Site.parse(v);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
