<?xml version="1.0" encoding="UTF-8"?>
<!-- HR-ish XML person -> the XPath JSON vocabulary, which the engine reads
     as a JSON tree for the rules. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns="http://www.w3.org/2005/xpath-functions">
  <xsl:output method="xml" indent="no"/>
  <xsl:template match="/Person">
    <map>
      <string key="id"><xsl:value-of select="@id"/></string>
      <string key="family"><xsl:value-of select="Name/Family"/></string>
      <array key="given">
        <xsl:for-each select="Name/Given">
          <string><xsl:value-of select="."/></string>
        </xsl:for-each>
      </array>
      <xsl:if test="Born">
        <string key="born"><xsl:value-of select="Born"/></string>
      </xsl:if>
    </map>
  </xsl:template>
</xsl:stylesheet>
