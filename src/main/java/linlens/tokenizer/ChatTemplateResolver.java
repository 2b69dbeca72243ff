package linlens.tokenizer;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * What a chat template may reach, in front of Jinjava's own resolvers: Python's str and dict
 * methods ({@link PythonStrings}); properties and methods of the engine's own objects (loop,
 * namespace, filters, macros) and of lists and maps; nothing else. A template that reaches for a
 * Java method ({@code ''.getClass()}, {@code messages.getClass()}) or a Java object's property
 * stops with one line, instead of touching the JVM.
 */
final class ChatTemplateResolver extends ELResolver {
    private final ELResolver engine;

    ChatTemplateResolver(ELResolver engine) {
        this.engine = engine;
    }

    /** The engine's own classes, whose methods it calls itself (filters, tests, loop, namespace, macros). */
    private static boolean engineObject(Object base) {
        return base.getClass().getName().startsWith("com.hubspot.jinjava.")
                || base instanceof com.hubspot.jinjava.lib.filter.Filter
                || base instanceof com.hubspot.jinjava.lib.exptest.ExpTest;
    }

    private static boolean container(Object base) {
        return base instanceof Map || base instanceof List || base.getClass().isArray();
    }

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        ChatTemplate.Rendering.checkTime();
        if (base == null) return engine.invoke(context, null, method, paramTypes, params);
        String name = String.valueOf(method);
        Object[] args = params == null ? new Object[0] : params;
        if (base instanceof String s && PythonStrings.has(name)) {
            context.setPropertyResolved(true);
            return PythonStrings.call(s, name, args);
        }
        if (base instanceof Map<?, ?> m && PythonStrings.hasMapMethod(name)) {
            context.setPropertyResolved(true);
            return PythonStrings.callMap(m, name, args);
        }
        // the engine's collections (PyList.append, PyMap.update, a namespace) and its callables
        if (engineObject(base)) return engine.invoke(context, base, method, paramTypes, params);
        throw ChatTemplate.Rendering.stop("the template calls '" + ChatTemplate.oneLine(name) + "' on a "
                + kind(base) + ", which chat templates do not have");
    }

    /** {@code base[::step]}: every step-th element (from the end when negative), as Python slices. */
    private static Object slice(Object base, long step) {
        if (base instanceof String s) {
            int[] cps = s.codePoints().toArray();
            StringBuilder b = new StringBuilder();
            for (long i = step > 0 ? 0 : cps.length - 1; i >= 0 && i < cps.length; i += step) b.appendCodePoint(cps[(int) i]);
            return b.toString();
        }
        List<?> l = (List<?>) base;
        List<Object> out = new java.util.ArrayList<>();
        for (long i = step > 0 ? 0 : l.size() - 1; i >= 0 && i < l.size(); i += step) out.add(l.get((int) i));
        return out;
    }

    private static String kind(Object base) {
        return switch (base) {
            case String s -> "string";
            case Map<?, ?> m -> "dict";
            case List<?> l -> "list";
            case Number n -> "number";
            case Boolean b -> "boolean";
            default -> "value";
        };
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        Long step = ChatTemplateSyntax.Step.of(property);
        if (step != null && (base instanceof List || base instanceof String)) {
            context.setPropertyResolved(true);
            return slice(base, step);
        }
        if (base == null || container(base) || engineObject(base)) return engine.getValue(context, base, property);
        // no Java bean properties of strings, numbers or anything else: undefined, as in Python
        context.setPropertyResolved(true);
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        if (base == null || container(base) || engineObject(base)) return engine.getType(context, base, property);
        context.setPropertyResolved(true);
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        if (base == null || container(base) || engineObject(base)) {
            engine.setValue(context, base, property, value);
            return;
        }
        throw ChatTemplate.Rendering.stop("the template sets a property of a " + kind(base));
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        if (base == null || container(base) || engineObject(base)) return engine.isReadOnly(context, base, property);
        context.setPropertyResolved(true);
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return engine.getFeatureDescriptors(context, base);
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return engine.getCommonPropertyType(context, base);
    }
}
