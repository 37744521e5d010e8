from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("formbridge_client", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="leased_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
