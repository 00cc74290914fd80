/** `loopd templates`: the built-in templates, what each does and its params. */
import type { Command } from "commander";
import { TEMPLATES, templateParamDocs } from "../../domain/templates/index.js";
import type { CommandContext } from "../context.js";
import { pc } from "../format.js";
import type { Run } from "../program.js";

export function registerTemplateCommands(program: Command, run: Run): void {
  program
    .command("templates")
    .description("list the built-in templates (`template:` in loopd.yaml, `loopd init --template`)")
    .action(
      run(async (ctx: CommandContext) => {
        const templates = TEMPLATES.map((template) => ({
          name: template.name,
          description: template.description,
          ready: template.ready,
          params: templateParamDocs(template),
        }));
        ctx.print(templates, () =>
          templates
            .map((template) =>
              [
                `${pc.bold(template.name)}  ${template.description}`,
                ...(template.ready ? [] : [pc.dim("  not built yet: a routine cannot use it")]),
                ...template.params.map(
                  (param) =>
                    `  ${param.name}${param.required ? pc.yellow(" (required)") : ""}${
                      param.default !== undefined ? pc.dim(` = ${JSON.stringify(param.default)}`) : ""
                    }  ${param.description}`,
                ),
              ].join("\n"),
            )
            .concat(
              pc.dim("Use one: `loopd init --template <name>`, or `template:` + `params:` in loopd.yaml."),
            )
            .join("\n\n"),
        );
      }),
    );
}
