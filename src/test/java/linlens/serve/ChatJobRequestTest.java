package linlens.serve;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The request's chat fields: {@code "chat": true} and an optional {@code "system"}, checked like prompts. */
class ChatJobRequestTest {
    @Test
    void chatAndSystem() {
        assertNull(JobRequestTest.parse("{\"model\":\"m\",\"prompts\":[\"Hi\"]}").chat());
        assertNull(JobRequestTest.parse("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":false}").chat());
        assertEquals(new JobRequest.ChatFields(null), JobRequestTest.parse("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true}").chat());
        assertEquals(new JobRequest.ChatFields("Be brief."),
                JobRequestTest.parse("{\"analysis\":\"predict\",\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true,\"system\":\"Be brief.\"}").chat());
    }

    @Test
    void badChatFieldsAreRefused() {
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":\"yes\"}", 400, "'chat' must be true or false");
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"system\":\"x\"}", 400, "'system' needs 'chat': true");
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true,\"system\":1}", 400, "'system' must be a string");
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true,\"system\":\"  \"}", 400, "empty system prompt");
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true,\"system\":\"" + "x".repeat(JobRequest.MAX_PROMPT_CHARS + 1) + "\"}",
                413, "system prompt too long");
        JobRequestTest.refused("{\"model\":\"m\",\"prompts\":[\"Hi\"],\"chat\":true,\"system\":\"\\ud800\"}", 400, "not valid Unicode");
    }
}
