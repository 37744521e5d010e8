"""A CloudFormation template's values as AWS would resolve them for one set of parameters:
Ref, Fn::Sub, Fn::GetAtt, Fn::If (with the template's Conditions), Fn::Join, Fn::Split,
Fn::Select, Fn::Equals/Not/And/Or, and AWS::NoValue removed from lists and maps. Enough for a
task definition's environment, secrets, command and health check; what it cannot resolve is
an error, never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

NO_VALUE = object()
SERVICES = Path(__file__).resolve().parents[2] / "deploy" / "aws" / "services.yaml"


@dataclass
class Resolver:
    template: dict
    parameters: dict[str, Any]
    attributes: dict[str, str] = field(default_factory=dict)  # "Resource.Attr" -> value
    pseudo: dict[str, str] = field(
        default_factory=lambda: {
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::StackName": "formbridge-rehearsal",
            "AWS::URLSuffix": "amazonaws.com",
        }
    )

    @classmethod
    def load(
        cls, path: Path, parameters: dict[str, Any], *, placeholder: str | None = None, **kwargs
    ) -> Resolver:
        """The template with these parameters over its defaults; a parameter with neither is an
        error, or `placeholder` where the caller reads nothing that depends on it."""
        decoded, problems = decode(str(path))
        assert not problems, problems
        declared = decoded.get("Parameters", {})
        values = {name: spec["Default"] for name, spec in declared.items() if "Default" in spec}
        values.update(parameters)
        missing = set(declared) - set(values)
        if placeholder is not None:
            values.update(dict.fromkeys(missing, placeholder))
        else:
            assert not missing, f"no value for {sorted(missing)}"
        for name, spec in declared.items():
            if spec.get("Type") == "CommaDelimitedList" and isinstance(values[name], str):
                values[name] = values[name].split(",") if values[name] else [""]
        return cls(decoded, values, **kwargs)

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template["Conditions"][name]))

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, argument)] = node.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        resolved = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self._ref(argument)
        if key == "Condition":
            return self.condition(argument)
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            variables = {k: self.value(v) for k, v in variables.items()}
            return self._sub(text, variables)
        if key == "Fn::GetAtt":
            name = ".".join(argument) if isinstance(argument, list) else argument
            if name not in self.attributes:
                raise KeyError(f"Fn::GetAtt {name}: give it in attributes")
            return self.attributes[name]
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.value(when_true if self.condition(name) else when_false)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(v) for v in self.value(items))
        if key == "Fn::Split":
            separator, text = argument
            return str(self.value(text)).split(separator)
        if key == "Fn::Select":
            index, items = argument
            return self.value(items)[int(self.value(index))]
        if key == "Fn::Equals":
            left, right = (self.value(v) for v in argument)
            return left == right
        if key == "Fn::Not":
            return not self.value(argument[0])
        if key == "Fn::And":
            return all(self.value(v) for v in argument)
        if key == "Fn::Or":
            return any(self.value(v) for v in argument)
        raise NotImplementedError(key)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.attributes:  # a resource's own Ref (its name or id)
            return self.attributes[name]
        resource = self.template.get("Resources", {}).get(name)
        if resource is not None:
            # A resource's physical id: the name it is given where it has one (a log group's),
            # else a stand-in made of its logical id.
            given = resource.get("Properties", {}).get("LogGroupName")
            return self.value(given) if given is not None else f"{name.lower()}-rehearsal"
        raise KeyError(f"Ref {name}: not a parameter or a resource; give it in attributes")

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} stays literal
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self._function("Fn::GetAtt", name))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)
