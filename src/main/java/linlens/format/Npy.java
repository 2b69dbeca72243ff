package linlens.format;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} arrays (format 1.0/2.0/3.0, little-endian, C order): read as doubles or
 * longs, written from float[] or double[]. For fixtures and exports people open with numpy.
 */
public final class Npy {
    /** A loaded array: values widened to double (or long for integer types). */
    public record Array(int[] shape, double[] values, long[] ints) {
        public int size() {
            int n = 1;
            for (int s : shape) n *= s;
            return n;
        }
    }

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<|>])([fiub])(\\d+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static Array read(Path path) throws IOException {
        byte[] b = Files.readAllBytes(path);
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        if (b.length < 10 || (b[0] & 0xff) != 0x93 || !new String(b, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY"))
            throw new ModelFormatException(path + ": not a .npy file");
        int major = b[6];
        int headerLen = major == 1 ? (bb.getShort(8) & 0xffff) : bb.getInt(8);
        int start = major == 1 ? 10 : 12;
        String header = new String(b, start, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), o = ORDER.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) throw new ModelFormatException(path + ": unreadable .npy header " + header.strip());
        if (d.group(1).equals(">")) throw new ModelFormatException(path + ": big-endian .npy not supported");
        if (o.group(1).equals("True")) throw new ModelFormatException(path + ": Fortran-order .npy not supported");
        String[] dims = s.group(1).split(",");
        int[] shape = java.util.Arrays.stream(dims).map(String::strip).filter(x -> !x.isEmpty()).mapToInt(Integer::parseInt).toArray();
        int n = 1;
        for (int x : shape) n *= x;
        char kind = d.group(2).charAt(0);
        int width = Integer.parseInt(d.group(3));
        bb.position(start + headerLen);
        if (kind == 'f') {
            double[] v = new double[n];
            for (int i = 0; i < n; i++)
                v[i] = switch (width) {
                    case 4 -> bb.getFloat();
                    case 8 -> bb.getDouble();
                    case 2 -> Float.float16ToFloat(bb.getShort());
                    default -> throw new ModelFormatException(path + ": float width " + width + " not supported");
                };
            return new Array(shape, v, null);
        }
        long[] v = new long[n];
        for (int i = 0; i < n; i++)
            v[i] = switch (width) {
                case 1 -> kind == 'u' || kind == 'b' ? bb.get() & 0xff : bb.get();
                case 2 -> kind == 'u' ? bb.getShort() & 0xffff : bb.getShort();
                case 4 -> kind == 'u' ? bb.getInt() & 0xffffffffL : bb.getInt();
                case 8 -> bb.getLong();
                default -> throw new ModelFormatException(path + ": integer width " + width + " not supported");
            };
        return new Array(shape, null, v);
    }

    public static void write(OutputStream out, int[] shape, float[] values, int off, int count) throws IOException {
        ByteBuffer bb = header(shape, "<f4", count * 4L);
        for (int i = 0; i < count; i++) bb.putFloat(values[off + i]);
        out.write(bb.array(), 0, bb.position());
    }

    public static void write(OutputStream out, int[] shape, double[] values, int off, int count) throws IOException {
        ByteBuffer bb = header(shape, "<f8", count * 8L);
        for (int i = 0; i < count; i++) bb.putDouble(values[off + i]);
        out.write(bb.array(), 0, bb.position());
    }

    /** A buffer holding the version-1.0 header (padded to 64 bytes) with room for the data. */
    private static ByteBuffer header(int[] shape, String descr, long dataBytes) {
        StringBuilder sh = new StringBuilder();
        for (int s : shape) sh.append(s).append(", ");
        if (shape.length > 1) sh.setLength(sh.length() - 1);
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + sh.toString().strip() + "), }";
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        String h = dict + " ".repeat(pad) + "\n";
        if (10 + h.length() + dataBytes > Integer.MAX_VALUE) throw new IllegalArgumentException("array too large for one .npy buffer");
        ByteBuffer bb = ByteBuffer.allocate((int) (10 + h.length() + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        bb.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        bb.putShort((short) h.length()).put(h.getBytes(StandardCharsets.ISO_8859_1));
        return bb;
    }
}
