"""Serializer helpers every app's API uses."""

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming each (a typo must not be ignored), and a
    body that is not a JSON object."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"body": [f"must be a JSON object, not {type(data).__name__}"]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({str(name): ["unknown field"] for name in unknown})
        return super().to_internal_value(data)
