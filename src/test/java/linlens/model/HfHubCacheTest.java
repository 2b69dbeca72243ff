package linlens.model;

import linlens.format.ModelFormatException;
import linlens.format.Safetensors;
import linlens.testing.HfHubLayout;
import linlens.testing.TinyModels;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The Hugging Face hub cache, read offline: a cache in the exact hub layout (refs, snapshots
 * linking into blobs) built from the tiny fixtures; its models resolve by name and revision and
 * load as their folders do; what is absent or hostile is one line naming the repo.
 */
class HfHubCacheTest {
    @TempDir Path dir;
    Path hub, ours, home;
    Map<String, String> env;
    static final String LLAMA = "test-org/tiny-llama", GGUFS = "quant-org/tiny-GGUF";
    static final String MAIN = HfHubLayout.commit("main"), V2 = HfHubLayout.commit("v2");

    @BeforeEach
    void cache() throws IOException {
        hub = Files.createDirectories(dir.resolve("hub"));
        ours = Files.createDirectories(dir.resolve("linlens-models"));
        home = Files.createDirectories(dir.resolve("home"));
        env = Map.of("HF_HUB_CACHE", hub.toString(), "LINLENS_MODELS", ours.toString());
        HfHubLayout.add(hub, LLAMA, MAIN, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        HfHubLayout.add(hub, LLAMA, V2, HfHubLayout.filesOf(TinyModels.named("qwen2").hf()), "v2");
    }

    private Path resolve(String model) { return ModelCache.locate(model, env, home).path(); }

    private String refused(String model) {
        String m = assertThrows(ModelFormatException.class, () -> ModelCache.locate(model, env, home)).getMessage();
        assertEquals(1, m.lines().count(), m);
        return m;
    }

    @Test
    void theCacheFolderFollowsHuggingFaceHubsRules() {
        Path h = Path.of("/home/u");
        assertEquals(new HfHubCache.Location(Path.of("/a"), "$HF_HUB_CACHE"),
                HfHubCache.locate(Map.of("HF_HUB_CACHE", "/a", "HF_HOME", "/b", "XDG_CACHE_HOME", "/c"), h));
        assertEquals(new HfHubCache.Location(Path.of("/old"), "$HUGGINGFACE_HUB_CACHE"),
                HfHubCache.locate(Map.of("HUGGINGFACE_HUB_CACHE", "/old", "HF_HOME", "/b"), h));
        assertEquals(new HfHubCache.Location(Path.of("/b/hub"), "$HF_HOME/hub"), HfHubCache.locate(Map.of("HF_HOME", "/b", "XDG_CACHE_HOME", "/c"), h));
        assertEquals(new HfHubCache.Location(Path.of("/c/huggingface/hub"), "$XDG_CACHE_HOME/huggingface/hub"),
                HfHubCache.locate(Map.of("XDG_CACHE_HOME", "/c", "HF_HUB_CACHE", " "), h));
        assertEquals(new HfHubCache.Location(Path.of("/home/u/.cache/huggingface/hub"), "the default"), HfHubCache.locate(Map.of(), h));
        assertEquals(Path.of("/home/u/hf/hub"), HfHubCache.locate(Map.of("HF_HOME", "~/hf"), h).dir(), "~ is the home folder");
    }

    @Test
    void resolvesByNameAndByRevision() {
        Path main = HfHubLayout.repo(hub, LLAMA).resolve("snapshots").resolve(MAIN);
        Path v2 = HfHubLayout.repo(hub, LLAMA).resolve("snapshots").resolve(V2);
        ModelCache.Located found = ModelCache.locate(LLAMA, env, home);
        assertEquals(new ModelCache.Located(LLAMA, main, ModelCache.Source.HUGGING_FACE), found);
        assertEquals(main, resolve(LLAMA + "@main"));
        assertEquals(v2, resolve(LLAMA + "@v2"), "a branch in refs/");
        assertEquals(v2, resolve(LLAMA + "@" + V2), "a commit hash");
        assertTrue(refused(LLAMA + "@v3").contains("no revision 'v3' (refs: main, v2; snapshots: "), refused(LLAMA + "@v3"));
    }

    @Test
    void loadsAndPredictsAsTheFolderItself() {
        int[] ids = {0, 45, 101, 7, 230, 66};
        for (var c : List.of(new String[] {LLAMA, "llama3"}, new String[] {LLAMA + "@v2", "qwen2"})) {
            Transformer fromCache = ModelLoader.load(resolve(c[0]));
            Transformer direct = ModelLoader.load(TinyModels.named(c[1]).hf());
            assertEquals(direct.config().layers(), fromCache.config().layers());
            assertArrayEquals(new ForwardPass(direct).run(ids).logits(), new ForwardPass(fromCache).run(ids).logits(), 0.0, c[0]);
        }
    }

    @Test
    void aGgufRepoGivesItsSingleFileOrTheOneNamed() throws IOException {
        Path gemma = TinyModels.named("gemma3").gguf(), llama = TinyModels.named("llama3").gguf();
        String one = "solo-org/tiny-GGUF";
        Path snap = HfHubLayout.add(hub, one, MAIN, Map.of("tiny-Q8_0.gguf", gemma, "mmproj-tiny-f16.gguf", llama, "README.md", gemma), "main");
        assertEquals(snap.resolve("tiny-Q8_0.gguf"), resolve(one), "the single model file; the projector is not a candidate");
        assertEquals("gemma3", ModelLoader.load(resolve(one)).config().architecture());

        Path several = HfHubLayout.add(hub, GGUFS, MAIN, Map.of("tiny-Q8_0.gguf", gemma, "tiny-F32.gguf", llama,
                "deep/tiny-Q4_K_M.gguf", gemma), "main");
        String m = refused(GGUFS);
        assertTrue(m.contains("holds 3 GGUF files: choose one with --model " + GGUFS + ":FILE or :QUANT (deep/tiny-Q4_K_M.gguf, tiny-F32.gguf, tiny-Q8_0.gguf)"), m);
        assertEquals(several.resolve("tiny-F32.gguf"), resolve(GGUFS + ":tiny-F32.gguf"), "by file name");
        assertEquals(several.resolve("tiny-Q8_0.gguf"), resolve(GGUFS + ":q8_0"), "by quantization tag");
        assertEquals(several.resolve("deep/tiny-Q4_K_M.gguf"), resolve(GGUFS + ":Q4_K_M"), "one folder down");
        assertEquals(several.resolve("tiny-F32.gguf"), resolve(GGUFS + "@main:F32"), "revision and file");
        assertTrue(refused(GGUFS + ":Q5_K_M").contains("has no GGUF file 'Q5_K_M'"));
        assertTrue(refused(GGUFS + ":tiny").contains("matches 3 GGUF files"), refused(GGUFS + ":tiny"));
        assertTrue(refused(GGUFS + ":../../../../etc/passwd").contains("has no GGUF file"));
    }

    @Test
    void aShardedCheckpointLoadsThroughTheBlobLinks() throws IOException {
        Path sharded = Path.of("src/test/resources/reference/safetensors/sharded");
        Path snap = HfHubLayout.add(hub, "shard-org/sharded", MAIN, HfHubLayout.filesOf(sharded), "main");
        try (Safetensors direct = Safetensors.openFolder(sharded); Safetensors cached = Safetensors.openFolder(snap)) {
            assertEquals(direct.tensors().keySet(), cached.tensors().keySet());
        }
    }

    @Test
    void pathsAndOurNamesComeFirst() throws IOException {
        // an existing relative path of the same shape stays a path
        HfHubLayout.add(hub, "src/test", MAIN, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        assertEquals(ModelCache.Source.PATH, ModelCache.locate("src/test", env, home).source());
        // our cache's name stays ours, even with a repo of that name in the Hugging Face cache
        Files.copy(TinyModels.named("gemma3").gguf(), ours.resolve("gemma-3-270m.gguf"));
        HfHubLayout.add(hub, "gemma-3-270m", MAIN, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        assertEquals(new ModelCache.Located("gemma-3-270m", ours.resolve("gemma-3-270m.gguf"), ModelCache.Source.LINLENS_CACHE),
                ModelCache.locate("gemma-3-270m", env, home));
        // an old repo without an owner resolves by its bare name
        HfHubLayout.add(hub, "tiny-gpt", MAIN, HfHubLayout.filesOf(TinyModels.named("qwen2").hf()), "main");
        assertEquals(ModelCache.Source.HUGGING_FACE, ModelCache.locate("tiny-gpt", env, home).source());
    }

    @Test
    void anAbsentModelNamesEveryPlaceLookedAndWhatMovesThem() {
        String m = refused("nobody/nothing");
        for (String part : List.of("model 'nobody/nothing' not found", "no such file or folder here", "linlens cache " + ours,
                "LINLENS_MODELS", "models--nobody--nothing", hub.toString(), "chosen by $HF_HUB_CACHE", "HF_HUB_CACHE, HF_HOME or XDG_CACHE_HOME",
                "hf download nobody/nothing"))
            assertTrue(m.contains(part), part + " in: " + m);
        Map<String, String> none = Map.of("LINLENS_MODELS", ours.toString());
        String d = assertThrows(ModelFormatException.class, () -> ModelCache.locate("nobody/nothing", none, home)).getMessage();
        assertTrue(d.contains(home.resolve(".cache/huggingface/hub") + " (chosen by the default"), d);
        // the old messages stay for what is not shaped like a repo name
        assertTrue(refused("no-such-model").contains("unknown model 'no-such-model'"));
        assertTrue(refused(dir.resolve("missing.gguf").toString()).contains("model file not found"));
        assertTrue(refused("models/missing.gguf").contains("model file not found"));
    }

    /** A repo to break: a copy of the tiny llama at commit MAIN with refs/main. */
    private Path broken(String name) throws IOException {
        HfHubLayout.add(hub, name, MAIN, HfHubLayout.filesOf(TinyModels.named("llama3").hf()), "main");
        return HfHubLayout.repo(hub, name);
    }

    @Test
    void hostileCacheContentIsOneLineNamingTheRepo() throws IOException {
        Path outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("secret"), MAIN);
        Map<String, String> expected = new HashMap<>();

        Path garbage = broken("h/garbage");
        Files.writeString(garbage.resolve("refs/main"), "not a hash\u0007\n");
        expected.put("h/garbage", "refs/main holds 'not a hash\\u0007', not a commit hash");

        Path bigRef = broken("h/big-ref");
        Files.write(bigRef.resolve("refs/main"), new byte[5000]);
        expected.put("h/big-ref", "refs/main is 5000 bytes, not a commit hash");

        Path refOut = broken("h/ref-outside");
        Files.delete(refOut.resolve("refs/main"));
        Files.createSymbolicLink(refOut.resolve("refs/main"), outside.resolve("secret"));
        expected.put("h/ref-outside", "refs/main lies outside the repo folder");

        Path noSnapshot = broken("h/no-snapshot");
        Files.writeString(noSnapshot.resolve("refs/main"), V2);
        expected.put("h/no-snapshot", "refs/main points to commit " + V2 + " but snapshots/" + V2 + " is missing");

        Path loop = broken("h/loop");
        Path config = loop.resolve("snapshots").resolve(MAIN).resolve("config.json");
        Files.delete(config);
        Files.createSymbolicLink(config, config.getFileName());
        expected.put("h/loop", "cannot follow snapshots/" + MAIN + "/config.json");

        Path blobOut = broken("h/blob-outside");
        Path tok = blobOut.resolve("snapshots").resolve(MAIN).resolve("tokenizer.json");
        Files.delete(tok);
        Files.createSymbolicLink(tok, outside.resolve("secret"));
        expected.put("h/blob-outside", "snapshots/" + MAIN + "/tokenizer.json lies outside the repo folder");

        Path dangling = broken("h/dangling");
        try (var blobs = Files.list(dangling.resolve("blobs"))) {
            for (Path b : blobs.toList()) Files.delete(b);
        }
        expected.put("h/dangling", "is missing (it links to a blob that is not there)");

        Path snapOut = broken("h/snapshot-outside");
        Path snap = snapOut.resolve("snapshots").resolve(MAIN);
        try (var files = Files.list(snap)) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.delete(snap);
        Files.createSymbolicLink(snap, outside);
        expected.put("h/snapshot-outside", "snapshots/" + MAIN + " lies outside the repo folder");

        Files.createSymbolicLink(HfHubLayout.repo(hub, "h/repo-outside"), outside);
        expected.put("h/repo-outside", "models--h--repo-outside lies outside the cache");

        Path empty = broken("h/empty");
        try (var files = Files.list(empty.resolve("snapshots").resolve(MAIN))) {
            for (Path f : files.toList()) Files.delete(f);
        }
        expected.put("h/empty", "holds neither config.json nor a .gguf model file");

        for (var e : expected.entrySet()) {
            String m = refused(e.getKey());
            assertTrue(m.startsWith(e.getKey() + " in the Hugging Face cache: "), m);
            assertTrue(m.contains(e.getValue()), e.getValue() + " in: " + m);
        }
        assertTrue(refused(LLAMA + "@../../../outside").contains("is not a revision"), refused(LLAMA + "@../../../outside"));
        assertTrue(refused(LLAMA + "@refs/../../x").contains("is not a revision"));
        // every one is listed with its reason, none stops the listing
        List<HfHubCache.Entry> listed = HfHubCache.of(env, home).list();
        for (String name : expected.keySet())
            assertTrue(listed.stream().anyMatch(en -> en.name().equals(name) && en.path() == null && en.problem().contains(expected.get(name))),
                    name + " in " + listed);
        assertTrue(listed.stream().anyMatch(en -> en.name().equals(LLAMA) && en.path() != null), listed.toString());
    }
}
