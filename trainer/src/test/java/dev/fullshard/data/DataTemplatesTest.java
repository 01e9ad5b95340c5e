package dev.fullshard.data;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DataTemplatesTest {
    @Test
    void defaultTemplateWithAndWithoutInput() {
        PromptTemplate t = PromptTemplate.of("default");
        assertThat(t.prompt("Say hi", "")).isEqualTo("### Instruction\nSay hi\n\n### Response\n");
        assertThat(t.prompt("Translate", "hello")).isEqualTo("### Instruction\nTranslate\n\n### Input\nhello\n\n### Response\n");
    }

    @Test
    void chineseTemplate() {
        PromptTemplate t = PromptTemplate.of("zh");
        assertThat(t.prompt("翻译", "")).isEqualTo("### 指令\n翻译\n\n### 回答\n");
        assertThat(t.prompt("翻译", "你好")).isEqualTo("### 指令\n翻译\n\n### 输入\n你好\n\n### 回答\n");
    }

    @Test
    void alpacaTemplate() {
        PromptTemplate t = PromptTemplate.of("alpaca");
        assertThat(t.prompt("Add", "")).isEqualTo("Below is an instruction that describes a task. Write a response that appropriately "
                + "completes the request.\n\n### Instruction:\nAdd\n\n### Response:\n");
        assertThat(t.prompt("Add", "2 3")).isEqualTo("Below is an instruction that describes a task, paired with an input that provides "
                + "further context. Write a response that appropriately completes the request.\n\n### Instruction:\nAdd\n\n### Input:\n2 3\n\n"
                + "### Response:\n");
    }

    @Test
    void customTemplateIsTheTextBeforeOutputSubstitutedOnce() {
        PromptTemplate t = PromptTemplate.of("Q: {instruction} [{input}]\nA: {output}\n");
        assertThat(t.name()).isEqualTo("custom");
        assertThat(t.acceptsInput()).isTrue();
        // Braces in the data are not substituted again.
        assertThat(t.prompt("what is {input}?", "x")).isEqualTo("Q: what is {input}? [x]\nA: ");
        assertThat(PromptTemplate.of("Q: {instruction}\nA: {output}").acceptsInput()).isFalse();
    }

    @Test
    void badCustomTemplatesAreRejected() {
        assertThatThrownBy(() -> PromptTemplate.of("nonsense")).hasMessageContaining("{instruction} and {output}");
        assertThatThrownBy(() -> PromptTemplate.of("{instruction} {output} tail")).hasMessageContaining("at the end");
        assertThatThrownBy(() -> PromptTemplate.of("{output}{instruction}")).hasMessageContaining("must come before");
        assertThatThrownBy(() -> ChatTemplate.resolve("vicuna", Path.of("tokenizer.json"))).hasMessageContaining("auto, chatml, llama2 or a Jinja template file");
        assertThatThrownBy(() -> DataFormat.parse("csv")).hasMessageContaining("[text, instruction, chat]");
    }
}
