from rest_framework import serializers

from ..models import Department, Service, SLATarget


class DepartmentSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    calendar = serializers.CharField(source="calendar.name", read_only=True)
    timezone = serializers.CharField(source="calendar.timezone", read_only=True)

    class Meta:
        model = Department
        fields = [
            "id",
            "name",
            "slug",
            "code",
            "parent",
            "is_provider",
            "description",
            "calendar",
            "timezone",
        ]
        read_only_fields = fields


class SLATargetSerializer(serializers.ModelSerializer):
    first_response_seconds = serializers.IntegerField(read_only=True)
    resolution_seconds = serializers.IntegerField(read_only=True)

    class Meta:
        model = SLATarget
        fields = ["priority", "first_response_seconds", "resolution_seconds"]
        read_only_fields = fields


class ServiceSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sla_targets = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = [
            "id",
            "name",
            "description",
            "department",
            "default_priority",
            "active",
            "sla_targets",
        ]
        read_only_fields = fields

    def get_sla_targets(self, service) -> list[dict]:
        """The effective target for every priority (own, else the department default)."""
        from ..selectors import effective_targets

        return SLATargetSerializer(effective_targets(service=service), many=True).data
