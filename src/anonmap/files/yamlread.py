"""YAML read with bounds (PyYAML, ``anonmap[ci]``): safe tags only, and a document whose
aliases would expand past a node budget is refused before it is built.

PyYAML builds an alias as a second reference to one object, so a kilobyte of nested aliases
(a "billion laughs") loads quickly, then grows to gigabytes in the first reader that walks or
prints it. Counting what the document holds with every alias expanded, once per node, costs
no more than composing it did.
"""

from __future__ import annotations

from typing import Any

#: Nodes a document may hold with every alias expanded. A CI workflow has a few thousand.
MAX_NODES = 200_000
#: The longest integer or float scalar read: Python refuses to convert integers of more than
#: 4300 digits with a message about its own limits, and none of a workflow's numbers is long.
MAX_NUMBER = 40


class YamlError(Exception):
    """The text cannot be read as bounded YAML; the message is one line."""


def _expanded_size(root: Any) -> int:
    """The nodes under ``root`` with every alias expanded, counted without expanding them:
    each node's size once, from its children's. A node that contains itself is refused."""
    import yaml

    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = min(1 + sum(sizes[id(child)] for child in children), MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise YamlError("an alias refers to a node that contains it")
        if isinstance(node, yaml.ScalarNode):
            if node.tag.endswith((":int", ":float")) and len(node.value) > MAX_NUMBER:
                raise YamlError(f"a number of {len(node.value)} characters, more than {MAX_NUMBER}")
            sizes[key] = 1
            continue
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: Any) -> list[Any]:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def loads(text: str) -> Any:
    """The one document in ``text`` as Python values; ``YamlError`` for anything PyYAML refuses,
    and for aliases expanding past ``MAX_NODES``, nesting deeper than Python recurses, or
    numbers longer than ``MAX_NUMBER``; ``ImportError`` without PyYAML."""
    import yaml

    loader = None
    try:
        # The reader checks the characters as it is made: a NUL is a YAMLError from here on.
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node)
        if size > MAX_NODES:
            raise YamlError(f"holds more than {MAX_NODES} values once its aliases are expanded")
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {str(error).splitlines()[0]}") from error
    except RecursionError as error:
        raise YamlError("nested too deeply") from error
    except (ValueError, OverflowError) as error:
        # A scalar of a resolved type (a timestamp, a number) its constructor cannot build.
        raise YamlError(f"a value that cannot be read: {str(error).splitlines()[0][:100]}") from error
    finally:
        if loader is not None:
            loader.dispose()
