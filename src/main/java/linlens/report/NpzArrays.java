package linlens.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import linlens.analysis.ArraySink;
import linlens.format.Npy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * An analysis's arrays as one NumPy .npz in memory (the app's download): the same arrays and
 * manifest as {@link NpyExport}'s folder, as zip entries {@code NAME.npy} and {@code manifest.json}.
 */
public final class NpzArrays implements ArraySink {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final ZipOutputStream zip = new ZipOutputStream(bytes);
    private final List<NpyExport.Entry> entries = new ArrayList<>();
    private final Map<String, Object> context = new LinkedHashMap<>();
    private byte[] done;

    @Override
    public void add(String name, int[] shape, Object data, String description) throws IOException {
        String file = name + ".npy";
        int count = 1;
        for (int s : shape) count *= s;
        zip.putNextEntry(new ZipEntry(file));
        OutputStream out = zip;
        switch (data) {
            case float[] f -> Npy.write(out, shape, f, 0, count);
            case double[] d -> Npy.write(out, shape, d, 0, count);
            default -> throw new IllegalArgumentException("unsupported array " + data.getClass());
        }
        zip.closeEntry();
        entries.add(new NpyExport.Entry(file, shape, data instanceof float[] ? "float32" : "float64", description));
    }

    @Override
    public void describe(String key, Object value) { context.put(key, value); }

    /** The finished .npz (with its manifest); the sink takes nothing after this. */
    public synchronized byte[] bytes() throws IOException {
        if (done == null) {
            Map<String, Object> manifest = new LinkedHashMap<>(context);
            manifest.put("arrays", entries);
            zip.putNextEntry(new ZipEntry("manifest.json"));
            zip.write(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(manifest));
            zip.closeEntry();
            zip.close();
            done = bytes.toByteArray();
        }
        return done;
    }
}
